"""The receive loop acknowledges only what the callback finished; crashes lose nothing."""

from __future__ import annotations

import pytest
from documents_support import AGENCY_A, AGENCY_B, agency_settings

from govlink.documents import (
    AsyncDocumentClient,
    DocumentClient,
    EdxmlPackage,
    ReceivedDocument,
    StatusCode,
)


def _send(mock, *subjects: str) -> list[str]:
    with DocumentClient(agency_settings(mock, AGENCY_A)) as a:
        return [
            a.send(
                EdxmlPackage.new(
                    sender=AGENCY_A, recipients=[AGENCY_B], subject=s, code_number=str(i)
                )
            ).doc_id
            for i, s in enumerate(subjects, 1)
        ]


def _statuses(mock) -> dict[str | None, StatusCode | None]:
    """The latest status B reported about each of A's documents (A's sent list)."""
    with DocumentClient(agency_settings(mock, AGENCY_A)) as a:
        return {s.sender_doc_id: s.latest_status for s in a.sent()}


def test_failed_callback_leaves_the_document_for_the_next_pass(govlink_mock) -> None:
    first, second = _send(govlink_mock, "một", "hai")
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:

        def flaky(document: ReceivedDocument) -> None:
            if document.doc_id == first:
                raise RuntimeError("database is down")

        report = b.receive(flaky)
        assert report.processed == [second]
        assert [d for d, _ in report.failed] == [first]
        assert isinstance(report.failed[0][1], RuntimeError)
        assert _statuses(govlink_mock) == {first: None, second: StatusCode.ARRIVED}

        handled: list[str] = []
        again = b.receive(lambda d: handled.append(d.doc_id))
        assert handled == [first]
        assert again.processed == [first]
    assert _statuses(govlink_mock) == {
        first: StatusCode.ARRIVED,
        second: StatusCode.ARRIVED,
    }


def test_a_crash_inside_the_callback_acknowledges_nothing(govlink_mock) -> None:
    (doc_id,) = _send(govlink_mock, "ba")

    class Crash(BaseException):
        """Stands for the process dying (not an Exception: nothing may catch it)."""

    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:

        def die(document: ReceivedDocument) -> None:
            raise Crash

        with pytest.raises(Crash):
            b.receive(die)
        assert [w.doc_id for w in b.received()] == [doc_id]
    assert _statuses(govlink_mock) == {doc_id: None}


def test_no_acknowledge_mode_hands_over_without_status(govlink_mock) -> None:
    (doc_id,) = _send(govlink_mock, "bốn")
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        report = b.receive(lambda d: None, acknowledge=False)
        assert report.processed == [doc_id]
        assert [w.doc_id for w in b.received()] == [doc_id]
        b.acknowledge(doc_id)
        assert b.received() == []
    assert _statuses(govlink_mock) == {doc_id: None}


def test_limit_takes_only_the_first_ones(govlink_mock) -> None:
    ids = _send(govlink_mock, "năm", "sáu", "bảy")
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        report = b.receive(lambda d: None, limit=2)
        assert report.processed == ids[:2]
        assert report.listed == 3
        assert b.count() == 1


async def test_async_loop_is_crash_safe_too(govlink_mock) -> None:
    first, second = _send(govlink_mock, "tám", "chín")
    async with AsyncDocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:

        async def flaky(document: ReceivedDocument) -> None:
            if document.doc_id == second:
                raise ValueError("cannot store")

        report = await b.receive(flaky)
        assert report.processed == [first]
        assert [d for d, _ in report.failed] == [second]
        assert [w.doc_id for w in await b.received()] == [second]


def test_sender_receives_statuses_with_the_same_loop(govlink_mock) -> None:
    (_doc_id,) = _send(govlink_mock, "mười")
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        got: list[ReceivedDocument] = []
        b.receive(got.append)
        b.send_status(got[0], StatusCode.IN_PROGRESS)
    with DocumentClient(agency_settings(govlink_mock, AGENCY_A)) as a:
        statuses: list[StatusCode | None] = []
        report = a.receive(
            lambda d: statuses.append(d.status.status_code if d.status else None),
            messagetype="status",
        )
        assert statuses == [StatusCode.ARRIVED, StatusCode.IN_PROGRESS]
        assert len(report.processed) == 2
        assert a.received(messagetype="status") == []
