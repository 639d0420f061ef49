"""Demo step: a signed official document from one agency to another over the mock axis.

1. agency A (``000.00.00.H47``, the demo's own system) builds an edXML package with
   an attachment and signs it with its certificate from the mock's TEST CA;
2. A sends it through the axis (REST API, HMAC-signed headers);
3. agency B (``000.00.00.G22``) runs one pass of the receive loop: fetch, verify the
   signature *and the certificate chain* against the test CA, hand over, and only
   then acknowledge with status 01;
4. B reports 03 (received/registered) and later 06 (completed);
5. A sees 01 → 03 → 06 on its sent document and receives the (signed) status messages.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings
    from govlink.demo import DemoContext

__all__ = ["AGENCY_A", "AGENCY_B", "agency_settings", "run"]

AGENCY_A = "000.00.00.H47"
AGENCY_B = "000.00.00.G22"


def _system_of(code: str) -> tuple[str, str]:
    """The axis system id and HMAC secret of a seeded agency (mock seed data)."""
    from mock_servers.seed import load_default_seed

    for agency in load_default_seed().get("agencies", []):
        if agency.get("code") == code:
            return str(agency.get("system_id") or code), str(agency["secret"])
    raise LookupError(f"agency {code} is not in the mock's seed")


def agency_settings(base: GovLinkSettings, code: str) -> GovLinkSettings:
    """``base`` (the mock profile) acting as agency ``code`` with its test certificate."""
    from mock_servers.vdxp.pki import PKI_DIR

    system_id, secret = (
        (base.documents.auth.client_id or code, None) if code == AGENCY_A else _system_of(code)
    )
    auth = base.documents.auth.model_copy(
        update={"client_id": system_id}
        | ({} if secret is None else {"client_secret": _secret(secret)})
    )
    documents = base.documents.model_copy(
        update={
            "auth": auth,
            "options": {
                **base.documents.options,
                "agency_code": code,
                "signing_key": str(PKI_DIR / f"{code}.key.pem"),
                "signing_cert": str(PKI_DIR / f"{code}.cert.pem"),
                "trust_store": str(PKI_DIR / "ca.cert.pem"),
            },
        }
    )
    return base.model_copy(update={"documents": documents})


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def run(demo: DemoContext) -> None:
    from govlink.documents import (
        Attachment,
        DocumentClient,
        EdxmlPackage,
        ReceivedDocument,
        StatusCode,
    )

    out = demo.console
    settings_a = agency_settings(demo.settings, AGENCY_A)
    settings_b = agency_settings(demo.settings, AGENCY_B)
    with DocumentClient(settings_a) as a, DocumentClient(settings_b) as b:
        package = EdxmlPackage.new(
            sender=AGENCY_A,
            recipients=[AGENCY_B],
            subject="Về việc báo cáo kết quả cải cách hành chính quý IV",
            code_number="125",
            code_notation="UBND-VP",
            promulgation_date=date.today(),
            place="Tỉnh Mẫu",
            signer_name="Chủ tịch UBND tỉnh",
        )
        package.add_attachment(
            Attachment.from_bytes(
                b"%PDF-1.4\n% govlink demo attachment\n" + b"0" * 2048,
                name="bao-cao-quy-IV.pdf",
                content_type="application/pdf",
            )
        )
        signer = a.signer
        assert signer is not None
        out.print(f"A ({AGENCY_A}) signs as: {signer.signer.subject}")
        sent = a.send(package)
        out.print(f"A sent the package → axis DocId [bold]{sent.doc_id}[/]")

        received: list[ReceivedDocument] = []

        def handle(document: ReceivedDocument) -> None:
            verified = document.verified
            assert document.package is not None
            out.print(
                f"B ({AGENCY_B}) received “{document.package.message_header.subject}” "
                f"from {document.sender}: signature {verified.algorithm}, certificate "
                f"{'trusted' if verified.trusted else 'NOT trusted'} ({verified.xml.trust_note})"
            )
            received.append(document)

        report = b.receive(handle)
        if not received or report.failed or report.rejected:
            raise RuntimeError(f"B did not receive the document: {report}")
        out.print("B acknowledged it: status 01 (arrived) sent back to A")
        document = received[0]
        b.send_status(document, StatusCode.RECEIVED, description="Đã vào sổ văn bản đến")
        b.send_status(document, StatusCode.COMPLETED, description="Đã xử lý xong")
        out.print("B reported 03 (received/registered) and 06 (completed)")

        sent_record = next(s for s in a.sent() if s.sender_doc_id == sent.doc_id)
        out.print(f"A's sent list shows B's latest status: [bold]{sent_record.receive_status}[/]")
        if sent_record.latest_status != StatusCode.COMPLETED:
            raise RuntimeError(f"A expected status 06, saw {sent_record.receive_status}")
        codes: list[StatusCode | None] = []
        statuses = a.receive(
            lambda doc: codes.append(doc.status.status_code if doc.status else None),
            messagetype="status",
        )
        walk = " → ".join(c.value for c in codes if c is not None)
        out.print(
            f"A fetched and verified {len(statuses.processed)} signed status message(s) "
            f"from B: [bold]{walk}[/]"
        )
        if codes != [StatusCode.ARRIVED, StatusCode.RECEIVED, StatusCode.COMPLETED]:
            raise RuntimeError(f"A expected statuses 01 → 03 → 06, saw {walk or 'none'}")
    demo.state["document"] = {"doc_id": sent.doc_id, "from": AGENCY_A, "to": AGENCY_B}
