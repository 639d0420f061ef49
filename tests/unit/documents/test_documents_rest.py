"""The exchange's wire format: XroadVnpt signed headers, request shapes, reply parsing."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest
import respx
from documents_fixtures import PKI

from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.documents import DocumentClient, StatusCode
from govlink.documents._gateway import GatewayProtocol
from govlink.documents._rest import (
    Operation,
    RestProtocol,
    XroadSigner,
    format_axis_timestamp,
    sdk_file_hash,
)

JSON = {"content-type": "application/json"}
CLOCK = ManualClock(datetime(2026, 1, 2, 3, 4, 5, 6_000, tzinfo=UTC))


def _reply(**fields: object) -> bytes:
    return json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **fields}).encode()


def _signed(operation: Operation) -> tuple[object, dict[str, str]]:
    request = RestProtocol(XroadSigner("sys-1", "s3cret", clock=CLOCK)).build(operation)
    return request, request.headers


def test_timestamp_is_vietnam_time_with_millis_after_plus() -> None:
    moment = datetime(2026, 11, 21, 2, 30, 5, 42_000, tzinfo=UTC)
    assert format_axis_timestamp(moment) == "21112026T093005+0042"


def test_every_field_is_an_xroadvnpt_header_signed_as_the_vendor_sdk_does() -> None:
    _request, headers = _signed(Operation("received", messagetype="status"))
    names = headers["XroadVnpt-sign-header-key"].split(";")
    assert names == ["timestamp", "systemid", "Content-Type", "servicetype", "messagetype"]
    signed = json.loads(headers["XroadVnpt-sign-header"])
    assert list(signed) == [f"XroadVnpt-{name}" for name in names]
    for name in names:
        assert headers[f"XroadVnpt-{name}"] == signed[f"XroadVnpt-{name}"]
    assert signed["XroadVnpt-timestamp"] == "02012026T100405+0006"
    assert signed["XroadVnpt-systemid"] == "sys-1"
    assert signed["XroadVnpt-messagetype"] == "status"
    expected = hmac.new(
        b"s3cret", headers["XroadVnpt-sign-header"].encode(), hashlib.sha256
    ).hexdigest()
    assert headers["XroadVnpt-hash-header"] == expected
    assert headers["XroadVnpt-version"] == "3.0.201608"


def test_hash_file_is_written_like_the_sdk_without_zero_padding() -> None:
    content = b"<edXML/>"
    digest = hashlib.sha256(content).digest()
    assert sdk_file_hash(content) == "".join(format(b, "x") for b in digest)
    # sha256("abc") = ba7816bf 8f01cfea … b00361a3 … f20015ad: 0x01, 0x03, 0x00 lose a digit
    assert sdk_file_hash(b"abc") == "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad"


def test_send_is_multipart_with_the_part_file_doc() -> None:
    request, headers = _signed(
        Operation("send", agency="000.00.00.H47", messagetype="edoc", content=b"<edXML/>")
    )
    assert (request.method, request.url) == ("POST", "/sendEdoc")
    content_type = headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    from mock_servers.vdxp import multipart_part  # an independent multipart reader

    assert multipart_part(content_type, request.content, "file_doc") == b"<edXML/>"
    assert headers["XroadVnpt-from"] == "000.00.00.H47"
    assert headers["XroadVnpt-servicetype"] == "eDoc"
    assert headers["XroadVnpt-hash-file"] == sdk_file_hash(b"<edXML/>")
    assert headers["XroadVnpt-Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("operation", "method", "path", "fields"),
    [
        (Operation("download", doc_id="d1"), "GET", "/downloadEdoc", {"docId": "d1"}),
        (Operation("get", doc_id="d1"), "POST", "/getEdoc", {"docId": "d1"}),
        (Operation("count"), "GET", "/countReceiveEdoc", {"messagetype": "edoc"}),
        (
            Operation("count_status", messagetype="status"),
            "GET",
            "/countReceiveStatus",
            {"messagetype": "status"},
        ),
        (
            Operation("update_state", doc_id="d1", state="initial"),
            "POST",
            "/updateStatus",
            {"status": "initial", "docId": "d1"},
        ),
        (
            Operation("delete_agency", data={"AgencyCode": "000.01.00.H47"}),
            "POST",
            "/deleteAgency",
            {"AgencyCode": "000.01.00.H47"},
        ),
        (Operation("sync_units"), "POST", "/getSynchronizeUnit", {}),
        (Operation("agencies"), "POST", "/getAgenciesList", {}),
    ],
)
def test_every_endpoint_of_the_sdk(
    operation: Operation, method: str, path: str, fields: dict[str, str]
) -> None:
    request, headers = _signed(operation)
    assert (request.method, request.url) == (method, path)
    for name, value in fields.items():
        assert headers[f"XroadVnpt-{name}"] == value


def test_paths_are_configurable() -> None:
    protocol = RestProtocol(paths={"received": "/api/v2/inbox"})
    assert protocol.build(Operation("received")).url == "/api/v2/inbox"


def test_sent_list_items_have_no_docid() -> None:
    body = _reply(
        data=[
            {
                "senderDocId": "s1",
                "receiverDocId": "r1",
                "fromCode": "000.00.00.H47",
                "toCode": "000.00.00.G22",
                "sendStatus": "done",
                "receiveStatus": "03",
                "title": "Về việc",
                "notation": "12/UBND-VP",
                "somethingNew": 1,
            }
        ]
    )
    (item,) = RestProtocol().parse(Operation("sent"), 200, JSON, body)
    assert (item.sender_doc_id, item.receiver_doc_id, item.to_code) == (
        "s1",
        "r1",
        "000.00.00.G22",
    )
    assert item.latest_status is StatusCode.RECEIVED
    assert item.model_extra == {"somethingNew": 1}


def test_counts_read_the_top_level_count() -> None:
    body = json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "count": 7}).encode()
    assert RestProtocol().parse(Operation("count"), 200, JSON, body) == 7


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
            {"docId": "a", "from": "000.00.00.G22", "to": "000.00.00.H47", "status": "initial"},
            {"id": "b", "from": "000.00.00.G22", "to": ["000.00.00.H47"], "extra": 1},
        ]
    )
    items = RestProtocol().parse(Operation("received"), 200, JSON, body)
    assert [i.doc_id for i in items] == ["a", "b"]
    assert items[0].to == ["000.00.00.H47"]
    assert items[0].status == "initial"
    assert items[1].model_extra == {"extra": 1}


def test_download_returns_the_package_bytes_and_get_edoc_decodes_base64() -> None:
    octets = {"content-type": "application/octet-stream"}
    assert RestProtocol().parse(Operation("download", doc_id="a"), 200, octets, b"<x/>") == b"<x/>"
    body = _reply(data="PGVkWE1MLz4=")
    assert RestProtocol().parse(Operation("get", doc_id="a"), 200, JSON, body) == b"<edXML/>"


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


@respx.mock
def test_client_signs_every_request_on_the_wire() -> None:
    route = respx.post("https://axis.example/api/getReceivedEdocList").mock(
        return_value=httpx.Response(200, json={"status": "OK", "ErrorCode": "0", "data": []})
    )
    settings = GovLinkSettings.load(
        documents={
            "base_url": "https://axis.example/api",
            "auth": {"style": "vdxp_hmac", "client_id": "sys-1", "client_secret": "s3cret"},
            "options": {"trust_store": str(PKI / "ca.cert.pem")},
        }
    )
    with DocumentClient(settings) as client:
        assert client.received() == []
    request = route.calls.last.request
    expected = hmac.new(
        b"s3cret", request.headers["XroadVnpt-sign-header"].encode(), hashlib.sha256
    ).hexdigest()
    assert request.headers["XroadVnpt-hash-header"] == expected
    assert request.headers["XroadVnpt-systemid"] == "sys-1"
    assert "signheader" not in request.headers


@pytest.mark.parametrize("variant", ["ftp", "soap"])  # soap: removed, never grounded
def test_unknown_variant_is_a_configuration_error(variant: str) -> None:
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="VARIANT"):  # when settings load
        GovLinkSettings.load(documents={"options": {"variant": variant}})


def test_sending_without_a_key_says_which_setting() -> None:
    from govlink.core.errors import ConfigurationError
    from govlink.documents import EdxmlPackage

    # the built-in mock profile carries a test key: take it away
    settings = GovLinkSettings.load(documents={"options": {"signing_key": "", "signing_cert": ""}})
    with respx.mock(assert_all_called=False) as platform, DocumentClient(settings) as c:
        platform.route().respond(500)
        package = EdxmlPackage.new(
            sender="000.00.00.H47", recipients=["000.00.00.G22"], subject="x"
        )
        with pytest.raises(ConfigurationError, match="SIGNING_KEY") as caught:
            c.send(package)
        assert "govlink mock issue-cert" in str(caught.value)
        assert not platform.calls  # refused before anything was sent
