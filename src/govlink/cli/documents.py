"""``govlink documents``: build, sign, verify, send and receive edXML packages.

Keys and trust come from the profile (``documents.options``: ``signing_key``,
``signing_cert``, ``trust_store``…) unless given on the command line. ``verify``
says who signed, with which algorithm, and whether the certificate is trusted
(exit 1 when the signature does not verify).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UnmaskOption,
    UserError,
    console,
    err_console,
    input_file_argument,
    load_settings,
    masking,
    platform_client,
    print_result,
    progress,
)

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings
    from govlink.documents import EdocSummary
    from govlink.documents._signing import PackageSigner, VerifiedEdxml

__all__ = ["app"]


app = typer.Typer(
    help="Official documents over the document axis (edXML): build, sign, verify, send, "
    "receive, status.",
    no_args_is_help=True,
)

InputFile = Annotated[Path, input_file_argument("An edXML file.")]
OutFile = Annotated[
    Path,
    typer.Option("--out", "-o", help="Where to write the result.", dir_okay=False),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="Signing key (PEM). Default: documents.options.signing_key.",
        exists=True,
        dir_okay=False,
    ),
]
CertOption = Annotated[
    Path | None,
    typer.Option(
        "--cert",
        help="Signing certificate (PEM). Default: documents.options.signing_cert.",
        exists=True,
        dir_okay=False,
    ),
]


def _scope(value: str | None) -> Literal["document", "envelope"]:
    return "envelope" if value == "envelope" else "document"


def _signer(
    settings: GovLinkSettings | None,
    key: Path | None,
    cert: Path | None,
    scope: str | None = None,
) -> PackageSigner:
    from govlink.documents._signing import PackageSigner, signer_from_settings

    if key is not None or cert is not None:
        if key is None or cert is None:
            raise UserError("give both --key and --cert (or neither, to use the profile's)")
        return PackageSigner.from_files(
            key, cert, scope="envelope" if scope == "envelope" else "document"
        )
    assert settings is not None
    signer = signer_from_settings(settings)
    if signer is None:
        raise UserError(
            "no signing key configured",
            hint="pass --key and --cert, or set documents.options.signing_key and signing_cert",
        )
    if scope is not None:
        signer = PackageSigner(
            signer.signer, scope="envelope" if scope == "envelope" else "document"
        )
    return signer


@app.command()
def build(
    out: OutFile,
    sender: Annotated[str, typer.Option("--from", help="Sending agency code (From/OrganId).")],
    recipients: Annotated[
        list[str], typer.Option("--to", help="Receiving agency code; repeat for several.")
    ],
    subject: Annotated[str, typer.Option("--subject", help="Trích yếu (Subject).")],
    code_number: Annotated[str | None, typer.Option("--number", help="Document number.")] = None,
    notation: Annotated[
        str | None, typer.Option("--notation", help="Notation, e.g. UBND-VP.")
    ] = None,
    promulgated: Annotated[
        str | None, typer.Option("--date", help="Promulgation date YYYY-MM-DD (default: today).")
    ] = None,
    place: Annotated[str | None, typer.Option("--place", help="Place of promulgation.")] = None,
    content: Annotated[str | None, typer.Option("--content", help="Content summary.")] = None,
    signer_name: Annotated[
        str | None, typer.Option("--signer-name", help="Who signed on paper.")
    ] = None,
    attachments: Annotated[
        list[Path] | None,
        typer.Option(
            "--attach", help="Attachment file; repeat for several.", exists=True, dir_okay=False
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Build an unsigned edXML package (attachments are streamed, never loaded whole)."""
    from govlink.documents.edxml import (
        Attachment,
        EdxmlPackage,
        check_package,
        package_tree,
        write,
    )

    day: date | None = None
    if promulgated:
        try:
            day = date.fromisoformat(promulgated)
        except ValueError:
            raise UserError(f"--date: expected YYYY-MM-DD, got {promulgated!r}") from None
    package = EdxmlPackage.new(
        sender=sender,
        recipients=list(recipients),
        subject=subject,
        code_number=code_number,
        code_notation=notation,
        promulgation_date=day,
        place=place,
        content=content,
        signer_name=signer_name,
    )
    for path in attachments or []:
        package.add_attachment(Attachment.from_file(path))
    check_package(package)
    with out.open("wb") as stream:
        size = write(package_tree(package), stream)
    print_result(
        {"file": str(out), "bytes": size, "attachments": len(package.attachments)},
        json_output,
        f"built {out} ({size:,} bytes, {len(package.attachments)} attachment(s))",
    )


@app.command()
def sign(
    source: InputFile,
    out: OutFile,
    key: KeyOption = None,
    cert: CertOption = None,
    scope: Annotated[
        str,
        typer.Option("--scope", help="document (whole package, default) or envelope."),
    ] = "document",
    replace: Annotated[
        bool, typer.Option("--replace", help="Re-sign a package that is already signed.")
    ] = False,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Sign an edXML file (enveloped XML-DSig in edXMLHeader, RSA-SHA256)."""
    if scope not in ("document", "envelope"):
        raise UserError(f"--scope: expected document or envelope, got {scope!r}")
    settings = load_settings(profile, profile_file) if key is None and cert is None else None
    signer = _signer(settings, key, cert, scope)
    with out.open("wb") as stream:
        size = signer.sign_document(source, stream, replace=replace)
    print_result(
        {"file": str(out), "bytes": size, "signer": signer.signer.subject},
        json_output,
        f"signed {out} as {signer.signer.subject} ({size:,} bytes)",
    )


def _describe(verified: VerifiedEdxml) -> dict[str, Any]:
    from govlink.core.redact import mask_value

    summary = verified.summary()
    if verified.package is not None:
        header = verified.package.message_header
        summary["subject"] = mask_value(header.subject)
        summary["document_id"] = header.document_id
        summary["recipients"] = verified.package.recipients
        summary["attachments"] = [a.attachment_name for a in verified.package.attachments]
    if verified.status is not None and verified.status.status_code is not None:
        summary["status_code"] = verified.status.status_code.value
        summary["status_label"] = verified.status.status_code.label
    return summary


@app.command()
def verify(
    source: InputFile,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help="CA certificates (PEM) to trust; repeat for several. "
            "Default: documents.options.trust_store.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    pinned: Annotated[
        list[Path] | None,
        typer.Option(
            "--cert", help="Pinned signer certificate (PEM).", exists=True, dir_okay=False
        ),
    ] = None,
    allow_sha1: Annotated[
        bool, typer.Option("--allow-sha1", help="Accept legacy RSA-SHA1 signatures.")
    ] = False,
    integrity_only: Annotated[
        bool,
        typer.Option(
            "--integrity-only",
            help="Only check that the signed content is intact and say who signed; "
            "exit 0 even when the signer is not trusted.",
        ),
    ] = False,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Verify a package's signature: who signed, which algorithm, trusted or not.

    Exit 0 only when the signature is intact AND the signer is trusted (chains to a
    ``--trust`` CA or matches a ``--cert``, or the profile's trust store), so that
    ``govlink documents verify x && process x`` never accepts a forged package;
    ``--integrity-only`` relaxes the trust requirement for inspection.
    """
    from govlink.documents._signing import PackageVerifier, verifier_from_settings

    verifier: PackageVerifier | None
    if trust or pinned:
        verifier = PackageVerifier.from_files(
            trust_store=list(trust) if trust else None,
            pinned=list(pinned) if pinned else None,
            allow_sha1=allow_sha1,
            require_trusted=False,
        )
    else:
        settings = load_settings(profile, profile_file)
        if allow_sha1:
            settings = settings.model_copy(deep=True)
            settings.documents.options["allow_sha1"] = True
        verifier = verifier_from_settings(settings, require_trusted=False)
    assert verifier is not None  # require_trusted=False always builds one
    verified = verifier.verify(source)
    try:
        with masking(unmask):
            summary = _describe(verified)
    finally:
        verified.close()
    print_result(summary, json_output, lambda: _print_verified(summary))
    _exit_unless_trusted(summary, integrity_only)


def _print_verified(summary: dict[str, Any]) -> None:
    out = console()
    trusted = "[green]yes[/]" if summary["trusted"] else "[red]NO[/]"
    if summary["trusted"]:
        out.print(f"signature OK ({summary['kind']})")
    else:
        out.print(
            f"[red]untrusted[/]: the signed content is intact but the signer is not trusted "
            f"({summary['kind']})"
        )
    out.print(f"  signed by:  {summary['signer']}")
    out.print(
        f"  algorithm:  {summary['algorithm']} (digest {summary['digest_algorithm']}, "
        f"c14n {summary['c14n']})"
    )
    out.print(f"  trusted:    {trusted} — {summary['trust']}")
    out.print(
        f"  covers:     {'whole package' if summary['scope'] == 'document' else 'envelope only'}"
    )
    if summary["signature_found_as"] != "xmldsig":
        out.print(f"  note:       Signature element found as {summary['signature_found_as']}")
    if summary.get("subject"):
        out.print(f"  subject:    {summary['subject']}")
    if summary.get("status_code"):
        out.print(f"  status:     {summary['status_code']} {summary['status_label']}")


def _exit_unless_trusted(summary: dict[str, Any], integrity_only: bool) -> None:
    if summary["trusted"] or integrity_only:
        return
    err_console().print(
        "error: the signature is intact but the signer is not trusted — pass --trust CA.pem "
        "or --cert SIGNER.pem (or set documents.options.trust_store), or --integrity-only "
        "to only inspect it",
        soft_wrap=True,
    )
    raise typer.Exit(1)


@app.command()
def send(
    source: InputFile,
    sign_it: Annotated[
        bool,
        typer.Option("--sign/--no-sign", help="Sign with the profile's key if not yet signed."),
    ] = True,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send an edXML package (or status message) through the axis."""
    import io

    from govlink.documents import DocumentClient
    from govlink.documents.edxml._parse import parse_edxml

    settings = load_settings(profile, profile_file)
    data = source.read_bytes()
    parsed = parse_edxml(data)
    signed = parsed.signature is not None
    parsed.close()
    if not signed:
        if not sign_it:
            raise UserError(
                f"{source} is not signed and --no-sign was given",
                hint="the axis refuses unsigned packages; sign it first (govlink documents sign)",
            )
        buffer = io.BytesIO()
        _signer(settings, None, None).sign_document(data, buffer)
        data = buffer.getvalue()
    with DocumentClient(settings) as client:
        result = client.send(data)
    print_result(
        result.model_dump(),
        json_output,
        f"sent {source} → DocId {result.doc_id} ({result.messagetype})",
    )


@app.command()
def receive(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            "-d",
            help="Store each verified message here (<DocId>/original.edxml byte for byte, "
            "verification.json, message.json, attachments/).",
            file_okay=False,
        ),
    ] = None,
    messagetype: Annotated[
        str, typer.Option("--type", help="edoc (documents) or status (status messages).")
    ] = "edoc",
    ack: Annotated[
        bool,
        typer.Option("--ack/--no-ack", help="Acknowledge (status 01 + done) once stored durably."),
    ] = True,
    list_only: Annotated[
        bool, typer.Option("--list", help="Only list what is waiting; fetch nothing.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Fetch, verify and store waiting documents; acknowledge only what was stored."""
    from govlink.core.redact import mask_value
    from govlink.documents import DocumentClient, ReceivedDocument

    if messagetype not in ("edoc", "status"):
        raise UserError(f"--type: expected edoc or status, got {messagetype!r}")
    if ack and out_dir is None and not list_only:
        raise UserError(
            "acknowledging tells the sender the document arrived, so it must be stored first",
            hint="pass --out-dir DIR to store what is received, or --no-ack to only look",
        )
    with platform_client(DocumentClient, profile, profile_file, unmask=unmask) as client:
        if list_only:
            waiting = client.received(messagetype=messagetype)
            rows = [
                {**w.model_dump(mode="json", exclude_none=True), "subject": mask_value(w.subject)}
                for w in waiting
            ]
            print_result(rows, json_output, lambda: _print_waiting(waiting))
            return
        saved: list[dict[str, Any]] = []
        with progress(json_output=json_output) as bar:
            task = bar.add_task("Receiving", total=None)

            def handle(document: ReceivedDocument) -> None:
                entry: dict[str, Any] = {"doc_id": document.doc_id, "from": document.sender}
                if out_dir is not None:
                    entry["dir"] = str(document.save(out_dir))
                if document.package is not None:
                    entry["subject"] = mask_value(document.package.message_header.subject)
                if document.status is not None and document.status.status_code is not None:
                    entry["status_code"] = document.status.status_code.value
                saved.append(entry)
                bar.advance(task)

            report = client.receive(handle, messagetype=messagetype, limit=limit, acknowledge=ack)
    result = {
        "processed": saved,
        "failed": [{"doc_id": d, "error": str(e)} for d, e in report.failed],
        "rejected": [{"doc_id": d, "error": str(e)} for d, e in report.rejected],
    }
    print_result(result, json_output, lambda: _print_received(result))
    if not report.ok:
        raise typer.Exit(1)


def _print_waiting(waiting: list[EdocSummary]) -> None:
    from govlink.core.redact import mask_value

    out = console()
    for item in waiting:
        out.print(
            f"{item.doc_id}  from {item.from_}  {mask_value(item.subject) or ''}", markup=False
        )
    out.print(f"{len(waiting)} waiting")


def _print_received(result: dict[str, list[dict[str, Any]]]) -> None:
    out = console()
    for entry in result["processed"]:
        out.print(
            f"received {entry['doc_id']} from {entry['from']}: "
            f"{entry.get('subject') or entry.get('status_code', '')}",
            markup=False,
        )
    for bad in result["rejected"]:
        out.print(f"[red]rejected[/] {bad['doc_id']}: {bad['error']}")
    for bad in result["failed"]:
        out.print(f"[yellow]failed[/] {bad['doc_id']}: {bad['error']} (will retry)")
    out.print(
        f"{len(result['processed'])} received, {len(result['rejected'])} rejected, "
        f"{len(result['failed'])} failed"
    )


STANDARD_STATUS_CODES = ("01", "02", "03", "04", "05", "06", "13", "15", "16")
"""The status codes of the edXML standard (PLATFORMS.md §5)."""


@app.command()
def status(
    doc_id: Annotated[str, typer.Argument(help="DocId of a document (received or sent).")],
    code: Annotated[
        str | None,
        typer.Argument(
            help="Status to report: 02, 03, 04, 05, 06, 13, 15, 16… Omit to show the "
            "statuses reported about a document you sent."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-m")] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Send a code outside the standard table (01-06, 13, 15, 16)."),
    ] = False,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Report a status about a received document, or show those reported to you."""
    from govlink.documents import DocumentClient, StatusCode

    if code is not None:
        if not code.isdigit() or len(code) != 2:
            raise UserError(f"status code: expected two digits (03, 06…), got {code!r}")
        if code not in STANDARD_STATUS_CODES and not force:
            raise UserError(
                f"status code {code} is not in the standard table "
                f"({', '.join(STANDARD_STATUS_CODES)})",
                hint="use a standard code, or --force if your counterpart agreed on this one",
            )
    with platform_client(DocumentClient, profile, profile_file) as client:
        if code is None:
            entries = [s for s in client.sent() if s.sender_doc_id == doc_id]
            if not entries:
                raise UserError(f"no sent document {doc_id!r}", hint="check the DocId")
            rows = [
                {
                    "to": e.to_code,
                    "code": e.receive_status,
                    "label": e.latest_status.label if e.latest_status else None,
                    "time": e.received_time,
                    "description": e.receive_status_desc,
                    "transport": e.send_status,
                }
                for e in entries
            ]
            print_result(
                {"doc_id": doc_id, "recipients": rows}, json_output, lambda: _print_statuses(rows)
            )
            return
        document = client.get(doc_id)
        try:
            result = client.send_status(document, StatusCode(code), description=description)
        finally:
            document.close()
    print_result(
        {"doc_id": doc_id, "status": code, "status_doc_id": result.doc_id},
        json_output,
        f"reported {code} ({StatusCode(code).label}) for {doc_id}",
    )


def _print_statuses(rows: list[dict[str, Any]]) -> None:
    out = console()
    for row in rows:
        shown = f"{row['code']} {row['label']}" if row["code"] else "no status yet"
        out.print(f"{row['to']}  {shown}  {row['time'] or ''}", markup=False)
