"""Each delivery switch of the mock axis is observed by a receiving client."""

from __future__ import annotations

import logging

import pytest
from documents_support import AGENCY_A, AGENCY_B, agency_settings

from govlink.core.errors import SignatureError
from govlink.documents import DocumentClient, EdxmlPackage


def _send_one(mock) -> str:
    with DocumentClient(agency_settings(mock, AGENCY_A)) as a:
        package = EdxmlPackage.new(
            sender=AGENCY_A,
            recipients=[AGENCY_B],
            subject="Kiểm thử đường từ chối",
            code_number="9",
        )
        return a.send(package).doc_id


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        ("deliver_tampered", "changed after signing"),
        ("deliver_unsigned", "not signed"),
        ("deliver_wrong_signer", "not trusted"),
        ("deliver_expired_cert", "expired on 2025-07-01"),
        ("deliver_sha1", "RSA-SHA1"),
    ],
)
def test_receiver_rejects_what_the_switch_delivers(govlink_mock, switch: str, message: str) -> None:
    doc_id = _send_one(govlink_mock)
    govlink_mock.switch("documents", **{switch: AGENCY_B})
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        with pytest.raises(SignatureError, match=message):
            b.get(doc_id)
        handed: list[str] = []
        report = b.receive(lambda doc: handed.append(doc.doc_id))
        assert handed == []
        assert report.processed == []
        assert [d for d, _ in report.rejected] == [doc_id]
        # not acknowledged: still waiting, the sender saw no 01
        assert [w.doc_id for w in b.received()] == [doc_id]
    state = govlink_mock.state()["documents"]
    assert state["active_switches"] == {switch: AGENCY_B}


def test_sha1_passes_where_the_profile_allows_it(govlink_mock, caplog) -> None:
    doc_id = _send_one(govlink_mock)
    govlink_mock.switch("documents", deliver_sha1=True)
    settings = agency_settings(govlink_mock, AGENCY_B, allow_sha1=True)
    with DocumentClient(settings) as b, caplog.at_level(logging.WARNING, logger="govlink.xml"):
        verified = b.get(doc_id)
    assert verified.algorithm == "rsa-sha1"
    assert verified.trusted
    assert any("SHA-1" in r.getMessage() for r in caplog.records)


def test_switch_aimed_at_another_receiver_changes_nothing(govlink_mock) -> None:
    doc_id = _send_one(govlink_mock)
    govlink_mock.switch("documents", deliver_tampered="001.00.10.H47")
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        assert b.get(doc_id).trusted


def test_reject_invalid_marks_the_message_failed(govlink_mock) -> None:
    doc_id = _send_one(govlink_mock)
    govlink_mock.switch("documents", deliver_unsigned=True)
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        seen: list[str] = []
        report = b.receive(
            lambda d: None, reject_invalid=True, on_invalid=lambda s, e: seen.append(s.doc_id)
        )
        assert seen == [doc_id]
        assert report.rejected
        assert b.received() == []
    with DocumentClient(agency_settings(govlink_mock, AGENCY_A)) as a:
        (record,) = a.sent()
    assert (record.to_code, record.send_status) == (AGENCY_B, "fail")


def test_unknown_switch_is_refused(govlink_mock) -> None:
    from govlink.testing._handle import MockAdminError

    with pytest.raises(MockAdminError, match="deliver_"):
        govlink_mock.switch("documents", deliver_garbage=True)
    with pytest.raises(MockAdminError):
        govlink_mock.switch("documents", deliver_tampered="not-a-code")
