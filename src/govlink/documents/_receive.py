"""The receive loop: fetch, verify, hand over, and only then acknowledge.

The order is what makes it safe (at-least-once, never lost):

1. list the messages waiting for us (transport state ``initial`` or ``processing``);
2. for each: fetch it and verify its signature (a package that fails is *not*
   handed over; it is reported, and — only with ``reject_invalid=True`` — marked
   ``fail`` at the axis so it stops coming back);
3. call the callback with the verified document — it carries the signed original
   byte for byte (:attr:`ReceivedDocument.original`, the legal record) next to the
   parsed view and the verification report; store it durably in the callback
   (:meth:`ReceivedDocument.save` writes all three with ``fsync``);
4. only if the callback returned normally: send status ``01`` (arrived) to the
   sender (document packages only) and mark the message ``done`` at the axis.

If the callback raises, or the process dies anywhere before step 4 finished, the
message stays waiting and the next pass fetches it again — so the callback
must be idempotent (key it on :attr:`ReceivedDocument.doc_id`). Statuses ``03``,
``04``, ``05`` and ``06`` are the caller's to send as the work proceeds
(``client.send_status(...)``).

The loop is written once, as a plan for the core driver (:mod:`govlink.core.driver`):
axis calls are sub-plans of ``Send`` steps, and the user's callback and ``on_invalid``
hook run as ``Invoke`` steps (the async runner awaits an async callback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govlink.core.driver import EvidenceMixin, Invoke, Plan
from govlink.core.errors import GovLinkError, SignatureError
from govlink.documents._rest import Operation
from govlink.documents.edxml.models import EdxmlPackage, StatusMessage
from govlink.documents.models import EdocSummary

if TYPE_CHECKING:
    from govlink.documents._signing import VerifiedEdxml

__all__ = [
    "ReceiveReport",
    "ReceivedDocument",
    "receive_plan",
]

log = logging.getLogger("govlink.documents")


@dataclass
class ReceivedDocument:
    """A fetched and verified message, as handed to the receive callback."""

    summary: EdocSummary
    verified: VerifiedEdxml
    original: bytes = field(default=b"", repr=False)
    """The signed message exactly as the axis delivered it (the legal record)."""

    def save(self, directory: str | Path) -> Path:
        """Store the original, the verification report, the parsed header and the
        attachments durably under ``directory/<DocId>/`` (names sanitised)."""
        from govlink.documents._store import store_received

        return store_received(self, directory)

    @property
    def doc_id(self) -> str:
        """The axis's id of this message (stable across re-deliveries)."""
        return self.summary.doc_id

    @property
    def package(self) -> EdxmlPackage | None:
        return self.verified.package

    @property
    def status(self) -> StatusMessage | None:
        return self.verified.status

    @property
    def sender(self) -> str | None:
        return self.verified.sender


@dataclass
class ReceiveReport(EvidenceMixin):
    """What one pass did: handed over and acknowledged, failed (left for the next
    pass), or rejected because the signature did not verify."""

    processed: list[str] = field(default_factory=list)
    failed: list[tuple[str, BaseException]] = field(default_factory=list)
    rejected: list[tuple[str, SignatureError]] = field(default_factory=list)
    listed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.rejected


def receive_plan(
    *,
    call: Callable[[Operation], Plan[Any]],
    callback: Callable[[ReceivedDocument], Any],
    on_invalid: Callable[[EdocSummary, SignatureError], Any] | None,
    agency: str | None,
    messagetype: str,
    verify: Callable[[bytes], VerifiedEdxml],
    arrived_status: Callable[[VerifiedEdxml], bytes] | None,
    limit: int | None,
    acknowledge: bool,
    reject_invalid: bool,
) -> Plan[ReceiveReport]:
    """One pass of the loop as a plan; ``call`` turns an axis operation into a
    sub-plan (request and reply parsing) of the client's variant."""
    report = ReceiveReport()
    doc_id = ""

    def state(value: str) -> Operation:
        return Operation(
            "update_state", agency=agency, messagetype=messagetype, doc_id=doc_id, state=value
        )

    summaries: list[EdocSummary] = yield from call(
        Operation("received", agency=agency, messagetype=messagetype)
    )
    report.listed = len(summaries)
    for summary in summaries[: limit if limit is not None else None]:
        doc_id = summary.doc_id
        try:
            raw: bytes = yield from call(
                Operation("get", agency=agency, messagetype=messagetype, doc_id=doc_id)
            )
        except GovLinkError as exc:
            log.warning("could not fetch %s: %s (will retry next pass)", doc_id, exc)
            report.failed.append((doc_id, exc))
            continue
        try:
            verified = verify(raw)
        except SignatureError as exc:
            log.warning("rejected %s from %s: %s", doc_id, summary.from_, exc)
            report.rejected.append((doc_id, exc))
            if on_invalid is not None:
                yield Invoke("on_invalid hook", partial(on_invalid, summary, exc))
            if reject_invalid:
                try:
                    yield from call(state("fail"))
                except GovLinkError as state_exc:
                    log.warning("could not mark %s as failed: %s", doc_id, state_exc)
            continue
        document = ReceivedDocument(summary, verified, raw)
        try:
            yield Invoke("receive callback", partial(callback, document))
        except Exception as exc:  # the callback's failure: leave it for the next pass
            log.warning(
                "the receive callback failed for %s (%s); it stays unacknowledged",
                doc_id,
                type(exc).__name__,
            )
            report.failed.append((doc_id, exc))
            verified.close()
            continue
        if acknowledge:
            try:
                if arrived_status is not None and verified.kind == "edoc":
                    yield from call(
                        Operation(
                            "send",
                            agency=agency,
                            messagetype="status",
                            content=arrived_status(verified),
                        )
                    )
                yield from call(state("done"))
            except GovLinkError as exc:
                log.warning(
                    "could not acknowledge %s: %s (it will be delivered again)", doc_id, exc
                )
                report.failed.append((doc_id, exc))
                continue
        report.processed.append(doc_id)
    return report
