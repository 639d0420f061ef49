"""Bodies in DEBUG logs and in Evidence.masked(): no credential, no citizen data.

A vendor turns DEBUG on or pastes ``evidence.masked()`` into a support ticket; the
token exchange, the portal login and a population-database reply must not leak.
"""

from __future__ import annotations

import logging
import os

import httpx
import pytest
import respx

from govlink.core.config import GovLinkSettings
from govlink.core.http import HttpTransport, build_client
from govlink.core.redact import redact_body, unmasked

SECRETS = ("demo-secret", "VERIFIER-123", "pw-123", "AT-SECRET", "RT-SECRET", "SESSION-XYZ")
PERSONAL = ("001234567890", "NGUYỄN VĂN AN", "0912345678", "19900115")


def _transport() -> HttpTransport:
    settings = GovLinkSettings.load(sso={"base_url": "https://sso.test"})
    return HttpTransport(build_client(settings, "sso"), settings)


def test_token_exchange_debug_logs_and_evidence_hide_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="govlink")
    reply = httpx.Response(
        200, json={"access_token": "AT-SECRET", "refresh_token": "RT-SECRET", "expires_in": 60}
    )
    with respx.mock, _transport() as transport:
        respx.post("https://sso.test/oauth2/token").mock(return_value=reply)
        result = transport.request(
            "POST",
            "/oauth2/token",
            safe=False,
            data={
                "grant_type": "authorization_code",
                "code": "CODE-1",
                "client_secret": "demo-secret",
                "code_verifier": "VERIFIER-123",
            },
        )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    masked = str(result.evidence.masked())
    assert "grant_type=authorization_code" in logged  # the body was logged at all
    assert "expires_in" in masked
    for secret in (*SECRETS[:2], "AT-SECRET", "RT-SECRET", "CODE-1"):
        assert secret not in logged
        assert secret not in masked
    # the raw evidence is the vendor's own record and stays complete
    assert b"AT-SECRET" in result.evidence.response_body


def test_json_login_and_session_bodies_are_masked() -> None:
    shown = redact_body(
        b'{"username": "u", "password": "pw-123", "session": "SESSION-XYZ", "error_code": 0}'
    )
    assert "pw-123" not in shown
    assert "SESSION-XYZ" not in shown
    assert '"error_code": 0' in shown


def test_personal_fields_in_json_and_soap_bodies_are_masked() -> None:
    json_body = (
        '{"SoDinhDanh": "001234567890", "HoVaTen": "NGUYỄN VĂN AN", "SoDienThoai": "0912345678"}'
    ).encode()
    soap_body = (
        "<s:Envelope><s:Body><d:CongDan><d:HoVaTen>NGUYỄN VĂN AN</d:HoVaTen>"
        "<d:NgayThangNam>19900115</d:NgayThangNam><d:SoDinhDanh>001234567890</d:SoDinhDanh>"
        "</d:CongDan></s:Body></s:Envelope>"
    ).encode()
    for body in (json_body, soap_body):
        shown = redact_body(body)
        for value in PERSONAL:
            assert value not in shown, (value, shown)
    assert "<d:HoVaTen>N***</d:HoVaTen>" in redact_body(soap_body)


def test_unmasking_shows_personal_data_but_never_credentials() -> None:
    with unmasked():
        shown = redact_body(b'{"HoVaTen": "NGUYEN VAN AN", "client_secret": "demo-secret"}')
    assert "NGUYEN VAN AN" in shown
    assert "demo-secret" not in shown


def test_long_bodies_are_cut() -> None:
    shown = redact_body(b"x" * 10_000, limit=100)
    assert len(shown) <= 101
    assert shown.endswith("…")


def test_settings_repr_and_masked_dump_hide_free_form_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVLINK_DOCUMENTS__OPTIONS__SIGNING_KEY_PASSWORD", "hunter2")
    monkeypatch.setenv("GOVLINK_PAYMENTS__OPTIONS__SECRET", "partner-secret")
    monkeypatch.setenv("GOVLINK_HTTP__PROXY", "http://user:proxy-pass@127.0.0.1:3128")
    settings = GovLinkSettings.load()
    assert settings.documents.options["signing_key_password"] == "hunter2"  # still usable
    for text in (repr(settings), str(settings.masked_dump())):
        for secret in ("hunter2", "partner-secret", "proxy-pass", "demo-secret"):
            assert secret not in text
    assert os.environ["GOVLINK_PAYMENTS__OPTIONS__SECRET"] == "partner-secret"


def test_model_reprs_mask_personal_fields_including_unlisted_extra_wire_fields() -> None:
    from typing import Any

    from pydantic import BaseModel, ConfigDict, Field

    from govlink.core.redact import masked_repr_args

    class Record(BaseModel):
        model_config = ConfigDict(extra="allow", populate_by_name=True)
        code: str = Field(alias="MaHoSo")
        owner: str | None = Field(default=None, alias="ChuHoSo")
        note: str | None = None

        def __repr_args__(self) -> Any:
            return masked_repr_args(self, super().__repr_args__())

    record = Record.model_validate(
        {"MaHoSo": "H47-1", "ChuHoSo": "NGUYỄN VĂN AN", "DiaChiChuHoSo": "12 Hàng Bạc"}
    )
    shown = repr(record)
    assert "H47-1" in shown
    assert "NGUYỄN" not in shown
    assert "Hàng Bạc" not in shown  # an extra field nobody listed, judged by its name
    assert "note" not in shown  # unset fields are left out
    with unmasked():
        assert "NGUYỄN VĂN AN" in repr(record)


def _batch(count: int) -> bytes:
    """A DVCQG-style batch of ``count`` dossiers: the session and citizens' data."""
    import json

    items = [
        {
            "MaHoSo": f"000.00.00.H01-240101-{n:04d}",
            "HoTenNguoiNop": "NGUYỄN VĂN AN",
            "SoGiayToChuHoSo": "001234567890",
            "SoDienThoai": "0912345678",
            "NgaySinh": "19900115",
            "TrichYeuHoSo": "Đăng ký khai sinh " * 8,
        }
        for n in range(count)
    ]
    return json.dumps({"session": "SESSION-XYZ", "data": items}, ensure_ascii=False).encode()


def _leaks(shown: str) -> list[str]:
    return [value for value in (*SECRETS, *PERSONAL) if value in shown]


def test_a_40_dossier_batch_over_8000_bytes_is_masked_by_key() -> None:
    body = _batch(40)
    assert len(body) > 8000
    shown = redact_body(body)
    assert _leaks(shown) == []
    assert "000.00.00.H01-240101-0000" in shown  # the dossier code stays readable


def test_a_batch_larger_than_the_parse_limit_is_masked_by_key_too() -> None:
    body = _batch(2000)
    assert len(body) > 256 * 1024
    assert _leaks(redact_body(body, limit=20_000)) == []


@pytest.mark.parametrize(
    "garbled",
    [
        b'{"access_token": "AT-SECRET", "refresh_token": "RT-SECRET", "id_token": "eyJ',
        b'{"access_token":"AT-SECRET",,"refresh_token":"RT-SECRET"}',
        b'<html>oops</html>{"access_token": "AT-SECRET", "refresh_token": "RT-SECRET"}',
        b"grant_type=refresh_token&refresh_token=RT-SECRET&client_secret=demo-secret (garbled)",
        b"<Reply><session>SESSION-XYZ</session><HoTen>NGUY\xe1\xbb\x84N V\xc4\x82N AN",
    ],
)
def test_broken_bodies_never_show_tokens_or_names(garbled: bytes) -> None:
    assert _leaks(redact_body(garbled)) == []


def test_a_json_body_cut_inside_a_personal_value_hides_the_part_shown() -> None:
    body = _batch(60)
    cut = body.decode()[: 8000 * 4 // 4]  # what a truncated log preview sees
    assert _leaks(redact_body(cut.encode(), limit=20_000)) == []
