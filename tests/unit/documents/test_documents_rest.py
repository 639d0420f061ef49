"""The exchange's wire format: signed headers, request shapes, reply parsing."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest
from documents_fixtures import PKI

from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.documents import DocumentClient, StatusCode
from govlink.documents.gateway import GatewayProtocol
from govlink.documents.rest import (
    Operation,
    RestProtocol,
    VdxpHmacAuth,
    format_axis_timestamp,
    sign_header,
)
from govlink.documents.soap import SoapProtocol

JSON = {"content-type": "application/json"}


def _reply(**fields: object) -> bytes:
    return json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **fields}).encode()


def test_timestamp_is_vietnam_time_with_millis_after_plus() -> None:
    moment = datetime(2026, 11, 21, 2, 30, 5, 42_000, tzinfo=UTC)
    assert format_axis_timestamp(moment) == "21112026T093005+0042"


def test_sign_header_is_hmac_sha256_hex_of_the_json() -> None:
    text, signature = sign_header("sys-1", "21112026T093005+0042", "s3cret")
    assert json.loads(text) == {"systemid": "sys-1", "timestamp": "21112026T093005+0042"}
    expected = hmac.new(b"s3cret", text.encode(), hashlib.sha256).hexdigest()
    assert signature == expected


def test_mock_checks_the_same_hmac() -> None:
    from mock_servers.vdxp import hmac_signature, parse_timestamp

    text, signature = sign_header("sys-1", "21112026T093005+0042", "s3cret")
    assert hmac_signature("s3cret", text) == signature
    parsed = parse_timestamp("21112026T093005+0042")
    assert parsed == datetime(2026, 11, 21, 2, 30, 5, 42_000, tzinfo=UTC)


def test_auth_flow_adds_the_four_headers() -> None:
    clock = ManualClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    auth = VdxpHmacAuth("sys-1", "s3cret", clock=clock)
    request = httpx.Request("POST", "https://axis.example/getReceivedEdocList")
    signed = next(auth.auth_flow(request))
    assert signed.headers["systemid"] == "sys-1"
    assert signed.headers["timestamp"] == "02012026T100405+0000"
    text = signed.headers["signheader"]
    assert signed.headers["signature"] == sign_header("sys-1", "02012026T100405+0000", "s3cret")[1]
    assert json.loads(text)["timestamp"] == "02012026T100405+0000"


def test_send_request_is_octet_stream_with_ascii_header_json() -> None:
    request = RestProtocol().build(
        Operation("send", agency="000.00.00.H47", messagetype="edoc", content=b"<edXML/>")
    )
    assert (request.method, request.url) == ("POST", "/sendEdoc")
    assert request.content == b"<edXML/>"
    assert request.headers["Content-Type"] == "application/octet-stream"
    header = json.loads(request.headers["header"])
    assert header == {"from": "000.00.00.H47", "messagetype": "edoc", "servicetype": "eDoc"}
    request.headers["header"].encode("ascii")


def test_paths_and_header_names_are_configurable() -> None:
    protocol = RestProtocol(paths={"received": "/api/v2/inbox"}, header_names={"header": "X-Edoc"})
    request = protocol.build(Operation("received", agency="000.00.00.H47"))
    assert request.url == "/api/v2/inbox"
    assert "X-Edoc" in request.headers


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("E_AUTH", 401, AuthenticationError),
        ("E_TIMESTAMP", 401, AuthenticationError),
        ("E_NOT_FOUND", 404, NotFoundError),
        ("E_SIGNATURE", 200, PlatformError),
        ("99", 200, PlatformError),
    ],
)
def test_fail_replies_become_errors(code: str, status: int, error: type[Exception]) -> None:
    body = json.dumps({"status": "FAIL", "ErrorCode": code, "ErrorDesc": "refused"}).encode()
    with pytest.raises(error) as caught:
        RestProtocol().parse(Operation("received"), status, JSON, body)
    assert "refused" in str(caught.value)
    if isinstance(caught.value, PlatformError):
        assert caught.value.code == code
        assert caught.value.raw["ErrorCode"] == code


def test_signature_refusal_says_what_to_do() -> None:
    body = json.dumps({"status": "FAIL", "ErrorCode": "E_SIGNATURE", "ErrorDesc": "x"}).encode()
    with pytest.raises(PlatformError) as caught:
        RestProtocol().parse(Operation("send"), 200, JSON, body)
    assert "do not modify the package after signing" in str(caught.value)


def test_non_json_reply_is_a_platform_error_with_a_hint() -> None:
    with pytest.raises(PlatformError, match="not JSON") as caught:
        RestProtocol().parse(Operation("received"), 502, {}, b"<html>Bad gateway</html>")
    assert "documents.base_url" in str(caught.value)


def test_list_items_accept_wire_name_variants() -> None:
    body = _reply(
        data=[
            {"docId": "a", "from": "000.00.00.G22", "to": "000.00.00.H47", "statusCode": "06"},
            {"id": "b", "from": "000.00.00.G22", "to": ["000.00.00.H47"], "extra": 1},
        ]
    )
    items = RestProtocol().parse(Operation("received"), 200, JSON, body)
    assert [i.doc_id for i in items] == ["a", "b"]
    assert items[0].to == ["000.00.00.H47"]
    assert items[0].status_code is StatusCode.COMPLETED
    assert items[1].model_extra == {"extra": 1}


def test_get_edoc_returns_the_package_bytes() -> None:
    assert (
        RestProtocol().parse(
            Operation("get", doc_id="a"), 200, {"content-type": "application/octet-stream"}, b"<x/>"
        )
        == b"<x/>"
    )


def test_send_reply_without_docid_is_an_error() -> None:
    with pytest.raises(PlatformError, match="DocId"):
        RestProtocol().parse(Operation("send"), 200, JSON, _reply())


def test_gateway_requests() -> None:
    protocol = GatewayProtocol()
    listed = protocol.build(Operation("received", agency="000.00.00.H47", messagetype="status"))
    assert (listed.method, listed.url, listed.params) == (
        "GET",
        "/vanbans",
        {"madinhdanh": "000.00.00.H47", "type": "status"},
    )
    sent = protocol.build(Operation("send", agency="000.00.00.H47", content=b"<edXML/>"))
    assert sent.json == {
        "madinhdanh": "000.00.00.H47",
        "messagetype": "edoc",
        "data": "PGVkWE1MLz4=",
    }
    state = protocol.build(
        Operation("update_state", agency="000.00.00.H47", doc_id="d1", state="done")
    )
    assert (state.method, state.url, state.json) == (
        "PUT",
        "/vanbans/d1",
        {"madinhdanh": "000.00.00.H47", "status": "DONE"},
    )
    assert protocol.build(Operation("agencies")).url == "/donvilienthongs"
    with pytest.raises(PlatformError, match="not available through the provincial gateway"):
        protocol.build(Operation("register", data={"code": "x"}))


def test_gateway_needs_the_agency_code() -> None:
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="madinhdanh"):
        GatewayProtocol().build(Operation("received"))


def test_gateway_document_content_is_base64_in_data() -> None:
    body = _reply(data={"docId": "d1", "content": "PGVkWE1MLz4="})
    assert GatewayProtocol().parse(Operation("get", doc_id="d1"), 200, JSON, body) == b"<edXML/>"


def test_soap_call_parameters() -> None:
    name, params = SoapProtocol().call(
        Operation("update_state", agency="000.00.00.H47", doc_id="d1", state="done")
    )
    assert name == "updateStatus"
    assert json.loads(params["header"]) == {
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "agency": "000.00.00.H47",
        "docId": "d1",
        "status": "done",
    }


def test_client_signs_every_request_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "OK", "data": []})

    settings = GovLinkSettings.load(
        documents={
            "base_url": "https://axis.example/api",
            "auth": {"style": "vdxp_hmac", "client_id": "sys-1", "client_secret": "s3cret"},
            "options": {"trust_store": str(PKI / "ca.cert.pem")},
        }
    )
    with DocumentClient(settings, transport=httpx.MockTransport(handler)) as client:
        assert client.received() == []
    (request,) = seen
    assert str(request.url) == "https://axis.example/api/getReceivedEdocList"
    expected = hmac.new(
        b"s3cret", request.headers["signheader"].encode(), hashlib.sha256
    ).hexdigest()
    assert request.headers["signature"] == expected
    assert request.headers["systemid"] == "sys-1"


def test_unknown_variant_is_a_configuration_error() -> None:
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="VARIANT"):  # when settings load
        GovLinkSettings.load(documents={"options": {"variant": "ftp"}})


def test_sending_without_a_key_says_which_setting() -> None:
    from govlink.core.errors import ConfigurationError
    from govlink.documents import EdxmlPackage

    settings = GovLinkSettings.load()
    with DocumentClient(
        settings, transport=httpx.MockTransport(lambda r: httpx.Response(500))
    ) as c:
        package = EdxmlPackage.new(
            sender="000.00.00.H47", recipients=["000.00.00.G22"], subject="x"
        )
        with pytest.raises(ConfigurationError, match="SIGNING_KEY"):
            c.send(package)
