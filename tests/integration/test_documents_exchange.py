"""A → B through the mock axis: REST and gateway; sync and async; statuses back."""

from __future__ import annotations

from datetime import date

import pytest
from documents_support import AGENCY_A, AGENCY_B, agency_settings

from govlink.core.errors import AuthenticationError, PlatformError
from govlink.documents import (
    AsyncDocumentClient,
    Attachment,
    DocumentClient,
    EdxmlPackage,
    ReceivedDocument,
    StatusCode,
)


def _package(subject: str = "Về việc thử nghiệm trục liên thông") -> EdxmlPackage:
    package = EdxmlPackage.new(
        sender=AGENCY_A,
        recipients=[AGENCY_B],
        subject=subject,
        code_number="15",
        code_notation="UBND-VP",
        promulgation_date=date(2026, 3, 4),
    )
    package.add_attachment(
        Attachment.from_bytes(
            b"%PDF-1.4 " + b"x" * 5000, name="cv.pdf", content_type="application/pdf"
        )
    )
    return package


@pytest.mark.parametrize("variant", ["rest", "gateway"])
def test_a_to_b_and_statuses_back(govlink_mock, variant: str) -> None:
    settings_a = agency_settings(govlink_mock, AGENCY_A, variant=variant)
    settings_b = agency_settings(govlink_mock, AGENCY_B, variant=variant)
    with DocumentClient(settings_a) as a, DocumentClient(settings_b) as b:
        sent = a.send(_package())
        assert sent.evidence is not None  # the core driver's evidence on the result
        assert sent.evidence.status_code == 200
        assert sent.evidence.correlation_id
        waiting = b.received()
        assert [w.doc_id for w in waiting] == [sent.doc_id]
        assert waiting[0].from_ == AGENCY_A

        verified = b.get(sent.doc_id)
        assert verified.trusted
        assert verified.signer_agency_code == AGENCY_A
        assert verified.package is not None
        assert verified.package.attachments[0].read_bytes().startswith(b"%PDF-1.4")

        b.send_status(verified, StatusCode.RECEIVED)
        b.send_status(verified, StatusCode.COMPLETED, description="Đã xử lý xong")

        (record,) = [s for s in a.sent() if s.sender_doc_id == sent.doc_id]
        assert (record.to_code, record.latest_status) == (AGENCY_B, StatusCode.COMPLETED)
        statuses = a.received(messagetype="status")
        fetched = [a.get(s.doc_id, messagetype="status") for s in statuses]
        assert [f.status.status_code for f in fetched if f.status] == [
            StatusCode.RECEIVED,
            StatusCode.COMPLETED,
        ]
        first = fetched[0]
        assert first.kind == "status"
        assert first.status is not None
        assert first.status.response_for is not None
        assert first.status.response_for.organ_id == AGENCY_A


@pytest.mark.parametrize("variant", ["rest", "gateway"])
async def test_async_client_same_flow(govlink_mock, variant: str) -> None:
    async with (
        AsyncDocumentClient(agency_settings(govlink_mock, AGENCY_A, variant=variant)) as a,
        AsyncDocumentClient(agency_settings(govlink_mock, AGENCY_B, variant=variant)) as b,
    ):
        sent = await a.send(_package("Async"))
        got: list[ReceivedDocument] = []

        async def handle(document: ReceivedDocument) -> None:
            got.append(document)

        report = await b.receive(handle)
        assert report.processed == [sent.doc_id]
        assert report.evidence is not None
        assert report.evidence.attempts >= 3  # list, fetch, status 01, done
        assert len(got) == 1
        await b.send_status(got[0], "06")
        (record,) = await a.sent()
        assert record.sender_doc_id == sent.doc_id
        assert record.latest_status == StatusCode.COMPLETED
        assert await a.count_statuses() == 2
        assert await b.received() == []


def test_facade_reaches_documents(govlink_mock) -> None:
    from govlink import GovLink

    with GovLink(agency_settings(govlink_mock, AGENCY_A)) as gl:
        codes = {agency.code for agency in gl.documents.agencies()}
    assert {AGENCY_A, AGENCY_B, "001.00.10.H47"} <= codes


def test_tampered_upload_is_refused_by_the_axis(govlink_mock) -> None:
    with DocumentClient(agency_settings(govlink_mock, AGENCY_A)) as a:
        signer = a.signer
        assert signer is not None
        signed = signer.sign(_package("Nguyên bản"))
        tampered = signed.replace("Nguyên bản".encode(), "Đã sửa".encode())
        with pytest.raises(PlatformError) as caught:
            a.send(tampered)
        assert caught.value.code == "E_SIGNATURE"
        assert "signature" in str(caught.value)
        with pytest.raises(PlatformError) as unsigned:
            a.send(_package(), sign=False)
        assert unsigned.value.code == "E_UNSIGNED"


def test_sending_for_another_system_is_refused(govlink_mock) -> None:
    # B's system signs a package that claims to come from A
    with (
        DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b,
        pytest.raises(PlatformError) as caught,
    ):
        b.send(_package())
    assert caught.value.code == "E_SENDER"


def test_wrong_secret_and_clock_skew_are_authentication_errors(govlink_mock) -> None:
    settings = agency_settings(govlink_mock, AGENCY_A)
    wrong = settings.model_copy(
        update={
            "documents": settings.documents.model_copy(
                update={
                    "auth": settings.documents.auth.model_copy(
                        update={"client_secret": _secret("not-the-secret")}
                    )
                }
            )
        }
    )
    with DocumentClient(wrong) as client, pytest.raises(AuthenticationError, match="E_AUTH"):
        client.received()
    govlink_mock.advance_clock(3600)
    with (
        DocumentClient(settings) as client,
        pytest.raises(AuthenticationError, match="E_TIMESTAMP"),
    ):
        client.received()


def test_register_agency_then_send_to_it(govlink_mock) -> None:
    with DocumentClient(agency_settings(govlink_mock, AGENCY_A)) as a:
        registered = a.register_agency("003.00.00.H47", "Sở Y tế tỉnh Mẫu")
        assert registered.code == "003.00.00.H47"
        assert registered.parent == AGENCY_A
        assert "003.00.00.H47" in {x.code for x in a.agencies()}
        package = _package()
        package.message_header.to[0].organ_id = "003.00.00.H47"
        assert a.send(package).doc_id
        with pytest.raises(PlatformError) as caught:
            a.register_agency("003.00.00.H47", "again")
        assert caught.value.code == "E_AGENCY"


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)
