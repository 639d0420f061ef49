"""Typed platform options: checked when settings load, a bad one names its variable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govlink.citizens.options import CitizensOptions
from govlink.core.config import GovLinkSettings
from govlink.core.errors import ConfigurationError
from govlink.core.options import options_model
from govlink.documents.options import DocumentsOptions
from govlink.dossiers.options import DossiersOptions
from govlink.payments.options import PaymentsOptions
from govlink.sso.options import SsoOptions


def load_error(**sections: object) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load(**sections)
    return caught.value


def test_a_tolerance_that_is_not_a_number_fails_at_load_naming_the_variable() -> None:
    error = load_error(payments={"options": {"callback_tolerance_seconds": "a day"}})
    assert error.setting == "GOVLINK_PAYMENTS__OPTIONS__CALLBACK_TOLERANCE_SECONDS"
    assert "a number of seconds >= 0" in str(error)
    assert "'a day'" in str(error)


def test_a_junk_flag_is_refused_not_read_as_true(monkeypatch: pytest.MonkeyPatch) -> None:
    error = load_error(payments={"options": {"verify_replies": "nope"}})
    assert error.setting == "GOVLINK_PAYMENTS__OPTIONS__VERIFY_REPLIES"
    assert "true or false" in str(error)
    monkeypatch.setenv("GOVLINK_PAYMENTS__OPTIONS__VERIFY_REPLIES", "nope")
    with pytest.raises(ConfigurationError, match="VERIFY_REPLIES"):
        GovLinkSettings.load()


def test_env_spellings_are_read_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVLINK_PAYMENTS__OPTIONS__VERIFY_REPLIES", "off")
    monkeypatch.setenv("GOVLINK_PAYMENTS__OPTIONS__CALLBACK_TOLERANCE_SECONDS", "300")
    monkeypatch.setenv("GOVLINK_DOSSIERS__OPTIONS__CHUNK_SIZE", "25")
    monkeypatch.setenv("GOVLINK_DOSSIERS__OPTIONS__TRANSIENT_CODES", "99, 98")
    monkeypatch.setenv("GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE", "a.pem, b.pem")
    monkeypatch.setenv("GOVLINK_SSO__OPTIONS__USERINFO_METHOD", "get")
    settings = GovLinkSettings.load()
    payments = PaymentsOptions.of(settings)
    assert payments.verify_replies is False
    assert payments.callback_tolerance_seconds == 300
    dossiers = DossiersOptions.of(settings)
    assert dossiers.chunk_size == 25
    assert dossiers.transient_codes == frozenset({"99", "98"})
    assert DocumentsOptions.of(settings).trust_store == ["a.pem", "b.pem"]
    assert SsoOptions.of(settings).userinfo_method == "GET"


def test_an_unknown_option_is_an_error_with_a_suggestion() -> None:
    error = load_error(payments={"options": {"verify_reply": False}})
    assert error.setting == "GOVLINK_PAYMENTS__OPTIONS__VERIFY_REPLY"
    assert "did you mean 'verify_replies'" in str(error)
    assert "callback_tolerance_seconds" in str(error)  # the valid names are listed


@pytest.mark.parametrize(
    ("platform", "name", "value", "expected"),
    [
        ("dossiers", "chunk_size", "0", "a whole number >= 1"),
        ("dossiers", "chunk_size", "ten", "a whole number >= 1"),
        ("sso", "leeway", "-1", "a number of seconds >= 0"),
        ("sso", "userinfo_method", "PUT", "GET or POST"),
        ("payments", "profile", "v2", "dvcqg or legacy"),
        ("documents", "variant", "ftp", "rest (the axis API)"),
        ("documents", "signature_scope", "body", "document (whole package, default)"),
        ("documents", "allow_sha1", "perhaps", "true or false"),
        ("documents", "max_package_mb", "nan", "a size in MB > 0"),
    ],
)
def test_each_bad_value_names_its_variable_and_the_expected_form(
    platform: str, name: str, value: str, expected: str
) -> None:
    error = load_error(**{platform: {"options": {name: value}}})
    assert error.setting == f"GOVLINK_{platform.upper()}__OPTIONS__{name.upper()}"
    assert expected in str(error)


def test_defaults_are_the_ones_the_clients_used() -> None:
    settings = GovLinkSettings.load(dossiers={"options": {}})
    sso = SsoOptions.of(settings)
    assert (sso.discovery, sso.algorithms, sso.leeway, sso.scope, sso.acr_values) == (
        True,
        ["RS256"],
        60.0,
        "openid",
        "LoA1",
    )
    dossiers = DossiersOptions.of(settings)
    assert (dossiers.chunk_size, dossiers.progress_chunk_size) == (100, 10)
    assert (dossiers.idempotency_field, dossiers.session_max_age) == ("IdempotencyKey", 1500)
    payments = PaymentsOptions.of(settings)
    assert payments.verify_replies is True
    assert payments.callback_tolerance_seconds == 86400
    assert (payments.channel_code, payments.ip, payments.profile) == ("1", "127.0.0.1", "dvcqg")
    documents = DocumentsOptions.of(settings)
    assert (documents.variant, documents.allow_sha1, documents.require_sender_match) == (
        "rest",
        False,
        True,
    )


def test_empty_values_mean_not_set_where_the_clients_said_so() -> None:
    settings = GovLinkSettings.load(
        dossiers={"options": {"session_max_age": "", "idempotency_field": ""}},
        sso={"options": {"acr_values": ""}},
        payments={"options": {"callback_tolerance_seconds": "0", "channel_code": 7}},
    )
    dossiers = DossiersOptions.of(settings)
    assert dossiers.session_max_age is None  # never log in again unprompted
    assert dossiers.idempotency_field == ""  # send no idempotency key
    assert SsoOptions.of(settings).acr_values is None
    payments = PaymentsOptions.of(settings)
    assert not payments.callback_tolerance_seconds
    assert payments.channel_code == "7"  # an unquoted TOML number is its text


def test_citizens_context_takes_wire_or_snake_case_names() -> None:
    settings = GovLinkSettings.load(
        citizens={"options": {"MaDVC": "1.0001", "ma_can_bo": "CB01", "taikhoan": "motcua"}}
    )
    assert CitizensOptions.of(settings).caller_context() == {
        "MaDVC": "1.0001",
        "MaCanBo": "CB01",
        "TaiKhoan": "motcua",
    }
    error = load_error(citizens={"options": {"MaDV": "x"}})
    assert "unknown citizens option 'MaDV'" in str(error)
    assert "service_code" in str(error)  # the options are listed by their English names


def test_of_sees_a_table_changed_after_load() -> None:
    settings = GovLinkSettings.load()
    settings.documents.options["allow_sha1"] = True  # what `govlink documents verify` does
    assert DocumentsOptions.of(settings).allow_sha1 is True


def test_every_platform_has_a_registered_model() -> None:
    for platform in ("sso", "dossiers", "payments", "citizens", "documents"):
        model = options_model(platform)
        assert model is not None
        assert model.platform == platform
    assert options_model("gateway") is None


def test_the_payment_client_uses_the_typed_tolerance() -> None:
    from govlink.payments.client import PaymentClient

    settings = GovLinkSettings.load(payments={"options": {"callback_tolerance_seconds": "120"}})
    with PaymentClient(settings) as client:
        verifier = client.callback_verifier(lambda reference: None)
    assert verifier.tolerance == timedelta(seconds=120)
