"""``govlink dossiers`` commands for satisfaction statistics and questions & answers.

* ``satisfaction FILE`` — send monthly satisfaction statistics (``DongBoDanhGia``);
* ``questions`` — list the questions citizens asked on the portal
  (``LayDanhSachHoiDapGuiTuDVCQG``; ``--ministries`` for ``LayDanhSachHoiDapBoCoQuan``);
* ``push-questions FILE`` — send questions asked at the province (``DongBoHoiDap``);
* ``push-answers FILE`` — send the province's answers (``DongBoKetQuaHoiDapGuiTuDVCQG``);
* ``receive`` — receive the dossiers citizens submitted on the portal (pushed to
  ``/nhanhsdvcqg``), each stored before it is acknowledged.

``FILE`` is a JSON array of objects or JSON Lines, keys named as on the wire
(``NgayTongHop``, ``HOIDAPID``…) or as govlink's attributes (``period``,
``question_id``…). Every item is validated before anything is sent; a bad one is one
line naming the item and the field, exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UnmaskOption,
    UserError,
    console,
    platform_client,
    print_result,
)

if TYPE_CHECKING:
    from govlink.dossiers import Question

__all__ = ["push_answers", "push_questions", "questions", "receive", "satisfaction"]

FileArgument = Annotated[
    Path, typer.Argument(help="A JSON array of objects, or JSON Lines (one object per line).")
]
_MAX_BYTES = 20 * 1024 * 1024


def read_items(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON array or JSON Lines file (UserError when it is neither)."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise UserError(f"{path} is larger than 20 MB", hint="split it into smaller files")
        text = path.read_text("utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}", hint="check the path") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            values = json.loads(stripped)
        else:
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise UserError(
            f"{path} is not JSON: {exc}", hint="give a JSON array of objects or JSON Lines"
        ) from None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise UserError(f"{path} must hold objects", hint="a JSON array of objects or JSON Lines")
    if not values:
        raise UserError(f"{path} holds no items", hint="nothing to send")
    return values


def _push_command(method: str, what: str, doc: str) -> Callable[..., None]:
    """A command that reads FILE, sends it with ``DossierClient.<method>`` and prints
    what the portal said."""

    def command(
        file: FileArgument,
        profile: ProfileOption = None,
        profile_file: ProfileFileOption = None,
        json_output: JsonOption = False,
    ) -> None:
        from govlink.dossiers import DossierClient

        items = read_items(file)
        with platform_client(DossierClient, profile, profile_file) as client:
            result = getattr(client, method)(items)
        summary = {
            "service": result.service,
            "sent": result.sent,
            "error_code": result.code,
            "message": result.message,
            "correlation_id": result.evidence.correlation_id if result.evidence else None,
        }
        text = f"sent {result.sent} {what} ({result.service}): {result.message or 'ok'}"
        print_result(summary, json_output, text)

    command.__name__ = command.__qualname__ = method
    command.__doc__ = doc
    return command


satisfaction = _push_command(
    "push_satisfaction",
    "statistics",
    "Send monthly satisfaction statistics (DongBoDanhGia; NgayTongHop as M-YYYY).",
)
push_questions = _push_command(
    "push_questions", "question(s)", "Send questions asked at the province (DongBoHoiDap)."
)
push_answers = _push_command(
    "push_answers",
    "answer(s)",
    "Send the province's answers to portal questions (DongBoKetQuaHoiDapGuiTuDVCQG).",
)


def questions(
    ministries: Annotated[
        bool,
        typer.Option("--ministries", help="The ministries' questions (LayDanhSachHoiDapBoCoQuan)."),
    ] = False,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """List the questions asked on the portal, with their answers when given."""
    from govlink.core.redact import redact_mapping
    from govlink.dossiers import DossierClient

    with platform_client(DossierClient, profile, profile_file, unmask=unmask) as client:
        found = client.questions(from_portal=not ministries)
        rows = [redact_mapping(q.model_dump(mode="json", exclude_none=True)) for q in found]
        print_result(rows, json_output, lambda: _print_questions(found, rows))


def _print_questions(found: list[Question], rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(rows)} question(s)")
    for column in ("question_id", "agency_code", "field_code", "content", "answered"):
        table.add_column(column, overflow="fold")
    for question, row in zip(found, rows, strict=True):
        table.add_row(
            row["question_id"],
            str(row.get("agency_code", "")),
            str(row.get("field_code", "")),
            str(row.get("content", "")),
            "yes" if question.answered else "no",
        )
    console().print(table)


def receive(
    out: Annotated[
        Path, typer.Option("--out", help="Directory each received dossier is written to.")
    ] = Path("incoming-dossiers"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8711,
    path: Annotated[
        str, typer.Option(help="The path the portal (or its exchange adapter) posts to.")
    ] = "/nhanhsdvcqg",
    max_count: Annotated[
        int, typer.Option("--max", help="Stop after this many dossiers are stored (0: never).")
    ] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON line when listening, one when stopped.")
    ] = False,
) -> None:
    """Receive the dossiers citizens submitted on the portal (pushed to /nhanhsdvcqg).

    Each dossier is written to --out (one JSON file, durably) BEFORE the portal is
    told error_code 0; anything that was not stored is answered -1, so the portal
    keeps it and delivers it again. Stops on Ctrl-C (or after --max dossiers).
    """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from govlink.dossiers._inbound import Delivery, DirectoryStore, DossierReceiver

    try:
        store = DirectoryStore(out)
    except OSError as exc:
        raise UserError(f"cannot use {out}: {exc.strerror}", hint="give a writable --out") from None
    stored: list[str] = []
    done = threading.Event()
    lock = threading.Lock()

    def keep(delivery: Delivery) -> None:
        store(delivery)
        with lock:
            stored.append(delivery.dossier.ma_ho_so)
            if max_count and len(stored) >= max_count:
                done.set()

    receiver = DossierReceiver(keep)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != path:
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > 50 * 1024 * 1024:
                self.send_error(413)
                return
            status, reply = receiver.handle(self.rfile.read(length))
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the receiver logs what matters, masked

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port}: {exc.strerror}", hint="pick --port"
        ) from None
    bound = server.server_address[1]
    listening = f"http://{host}:{bound}{path}"
    if json_output:
        print(json.dumps({"listening": listening, "out": str(out)}), flush=True)
    else:
        console().print(f"listening on {listening}; writing to {out}", highlight=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    if json_output:
        print(json.dumps({"stored": stored, "out": str(out)}), flush=True)
    else:
        console().print(f"stored {len(stored)} dossier(s) in {out}", highlight=False)
