"""govlink.core.soap: zeep over govlink's HTTP, WSDLs from local files only, faults mapped."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx

from govlink.core.config import GovLinkSettings
from govlink.core.errors import (
    AuthenticationError,
    PlatformError,
    TransportError,
    ValidationError,
)
from govlink.core.http import AsyncHttpTransport, HttpTransport
from govlink.core.soap import (
    AsyncSoapClient,
    SoapAuthenticationError,
    SoapClient,
    SoapFaultError,
    SoapHttpTransport,
    WsdlError,
    load_wsdl,
    wsdl_load_count,
)

NS = "urn:test:echo"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ADDRESS = "http://soap.test/Echo"

XSD = f"""<?xml version="1.0"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="{NS}"
            elementFormDefault="qualified">
  <xsd:element name="Echo"><xsd:complexType><xsd:sequence>
    <xsd:element name="Text" type="xsd:string"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="EchoResponse"><xsd:complexType><xsd:sequence>
    <xsd:element name="Text" type="xsd:string"/>
  </xsd:sequence></xsd:complexType></xsd:element>
</xsd:schema>
"""

WSDL = f"""<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="{NS}" targetNamespace="{NS}">
  <wsdl:types><xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <xsd:import namespace="{NS}" schemaLocation="%(location)s"/>
  </xsd:schema></wsdl:types>
  <wsdl:message name="EchoIn"><wsdl:part name="p" element="tns:Echo"/></wsdl:message>
  <wsdl:message name="EchoOut"><wsdl:part name="p" element="tns:EchoResponse"/></wsdl:message>
  <wsdl:portType name="EchoPort"><wsdl:operation name="Echo">
    <wsdl:input message="tns:EchoIn"/><wsdl:output message="tns:EchoOut"/>
  </wsdl:operation></wsdl:portType>
  <wsdl:binding name="EchoBinding" type="tns:EchoPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Echo"><soap:operation soapAction="urn:echo"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="EchoService"><wsdl:port name="P" binding="tns:EchoBinding">
    <soap:address location="http://wsdl.address.invalid/Echo"/>
  </wsdl:port></wsdl:service>
</wsdl:definitions>
"""


def _reply(text: str) -> bytes:
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{ENV}"><s:Body>'
        f'<EchoResponse xmlns="{NS}"><Text>{text}</Text></EchoResponse>'
        "</s:Body></s:Envelope>"
    ).encode()


FAULT = (
    f'<s:Envelope xmlns:s="{ENV}"><s:Body><s:Fault><faultcode>s:Client</faultcode>'
    "<faultstring>Bad thing</faultstring><detail><Err xmlns='urn:err'><Code>E42</Code></Err>"
    "</detail></s:Fault></s:Body></s:Envelope>"
).encode()


@pytest.fixture
def wsdl_path(tmp_path: Path) -> Path:
    (tmp_path / "echo.xsd").write_text(XSD)
    path = tmp_path / "echo.wsdl"
    path.write_text(WSDL % {"location": "echo.xsd"})
    return path


@pytest.fixture
def settings() -> GovLinkSettings:
    return GovLinkSettings.load(http={"max_retries": 2, "backoff_initial": 0, "backoff_max": 0})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any socket connection attempt is recorded and refused."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _soap_http() -> Iterator[None]:
    """Every request of these tests goes to respx; only the service's host is routed."""
    with respx.mock:
        yield


def _serve(handler: Handler) -> None:
    """The SOAP service at ``ADDRESS``'s host answers with ``handler``."""
    respx.route(host="soap.test").mock(side_effect=handler)


def _sync(wsdl: Path, settings: GovLinkSettings, handler: Handler) -> SoapClient:
    _serve(handler)
    return SoapClient(wsdl, HttpTransport(httpx.Client(), settings), address=ADDRESS)


def _async(wsdl: Path, settings: GovLinkSettings, handler: Handler) -> AsyncSoapClient:
    _serve(handler)
    return AsyncSoapClient(wsdl, AsyncHttpTransport(httpx.AsyncClient(), settings), address=ADDRESS)


# --------------------------------------------------------------------------- loading


def test_wsdl_is_parsed_once_per_process_even_under_concurrency(wsdl_path: Path) -> None:
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(load_wsdl(wsdl_path))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1
    assert wsdl_load_count(wsdl_path) == 1
    assert load_wsdl(str(wsdl_path)) is results[0]
    assert wsdl_load_count(wsdl_path) == 1


def test_remote_schema_import_is_refused_without_touching_the_network(
    tmp_path: Path, no_network: list[object]
) -> None:
    path = tmp_path / "remote.wsdl"
    path.write_text(WSDL % {"location": "http://schemas.example.invalid/echo.xsd"})
    with pytest.raises(WsdlError, match=r"schemas\.example\.invalid"):
        load_wsdl(path)
    assert no_network == []


def test_schema_outside_the_wsdl_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "echo.xsd").write_text(XSD)
    inner = tmp_path / "inner"
    inner.mkdir()
    path = inner / "escape.wsdl"
    path.write_text(WSDL % {"location": "../echo.xsd"})
    with pytest.raises(WsdlError, match="outside its directory"):
        load_wsdl(path)


def test_wsdl_with_a_dtd_is_refused(tmp_path: Path) -> None:
    (tmp_path / "echo.xsd").write_text(XSD)
    path = tmp_path / "dtd.wsdl"
    text = WSDL % {"location": "echo.xsd"}
    text = text.replace(
        '<?xml version="1.0"?>', '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "boom">]>'
    )
    path.write_text(text)
    with pytest.raises(WsdlError):
        load_wsdl(path)


def test_missing_wsdl_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(WsdlError, match="does not exist"):
        load_wsdl(tmp_path / "nope.wsdl")


def test_operation_transport_refuses_to_load_documents(settings: GovLinkSettings) -> None:
    transport = SoapHttpTransport(HttpTransport(httpx.Client(), settings))
    with pytest.raises(WsdlError, match="refusing to load"):
        transport.load("https://example.invalid/other.wsdl")


def test_importing_govlink_does_not_import_zeep() -> None:
    code = (
        "import sys, govlink, govlink.citizens; "
        "from govlink.citizens import Citizen; "
        "assert 'zeep' not in sys.modules, 'zeep imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------- calls


def test_call_sends_soap_through_govlink_http_with_evidence(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_reply("hi"), headers={"content-type": "text/xml"})

    client = _sync(wsdl_path, settings, handler)
    result = client.call("Echo", safe=True, correlation_id="cid-1", Text="hi")
    assert result.value == "hi"
    assert result.evidence is not None
    assert result.evidence.correlation_id == "cid-1"
    assert result.evidence.response_body == _reply("hi")
    (request,) = seen
    assert str(request.url) == ADDRESS  # the address given, not the WSDL's
    assert request.headers["SOAPAction"] == '"urn:echo"'
    assert request.headers["X-Correlation-ID"] == "cid-1"
    assert b"<ns0:Text>hi</ns0:Text>" in request.content


def test_safe_calls_are_retried_on_503_unsafe_are_not(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            return httpx.Response(503)
        return httpx.Response(200, content=_reply("ok"))

    client = _sync(wsdl_path, settings, handler)
    assert client.call("Echo", safe=True, Text="x").value == "ok"
    assert len(attempts) == 2

    attempts.clear()
    with pytest.raises(TransportError, match="HTTP 503"):
        client.call("Echo", safe=False, Text="x")
    assert len(attempts) == 1


def test_a_fault_is_not_retried_and_keeps_code_text_and_detail(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(500, content=FAULT, headers={"content-type": "text/xml"})

    client = _sync(wsdl_path, settings, handler)
    with pytest.raises(SoapFaultError) as caught:
        client.call("Echo", safe=True, correlation_id="cid-f", Text="x")
    error = caught.value
    assert len(attempts) == 1  # HTTP 500 is SOAP's fault status, not "try again"
    assert error.code == "s:Client"
    assert error.fault.message == "Bad thing"
    assert error.fault.local_code == "Client"
    assert error.fault.detail_text("Code") == "E42"
    assert error.status_code == 500
    assert error.raw == FAULT
    assert error.correlation_id == "cid-f"
    assert "Bad thing" in str(error)


def test_http_401_without_soap_is_an_authentication_error(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    client = _sync(wsdl_path, settings, lambda r: httpx.Response(401, text="<html>no</html>"))
    with pytest.raises(AuthenticationError) as caught:
        client.call("Echo", safe=True, Text="x")
    assert isinstance(caught.value, SoapAuthenticationError)
    assert caught.value.status_code == 401


def test_a_non_soap_reply_is_a_platform_error_with_the_status(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    client = _sync(wsdl_path, settings, lambda r: httpx.Response(404, text="not here"))
    with pytest.raises(PlatformError) as caught:
        client.call("Echo", safe=True, Text="x")
    assert caught.value.status_code == 404
    assert "path" in str(caught.value)


def test_a_reply_that_breaks_the_schema_is_a_platform_error(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    bad = _reply("x").replace(b"<Text>x</Text>", b"<Unexpected>x</Unexpected>")
    client = _sync(wsdl_path, settings, lambda r: httpx.Response(200, content=bad))
    with pytest.raises(PlatformError, match="does not match the WSDL"):
        client.call("Echo", safe=True, Text="x")


def test_unknown_parameters_are_a_validation_error_and_nothing_is_sent(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    seen: list[httpx.Request] = []
    client = _sync(wsdl_path, settings, lambda r: seen.append(r) or httpx.Response(200))
    with pytest.raises(ValidationError, match="Bogus"):
        client.call("Echo", safe=True, Text="x", Bogus="y")
    assert seen == []


def test_message_shows_the_envelope_without_sending(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    client = _sync(wsdl_path, settings, lambda r: pytest.fail("sent"))
    body = client.message("Echo", Text="preview")
    assert body.startswith(b"<?xml")
    assert b"preview" in body


async def test_async_call_and_fault(wsdl_path: Path, settings: GovLinkSettings) -> None:
    replies = iter(
        [
            httpx.Response(200, content=_reply("async")),
            httpx.Response(500, content=FAULT),
        ]
    )
    client = _async(wsdl_path, settings, lambda r: next(replies))
    result = await client.call("Echo", safe=True, Text="a")
    assert result.value == "async"
    assert result.evidence is not None
    assert result.evidence.status_code == 200
    with pytest.raises(SoapFaultError) as caught:
        await client.call("Echo", safe=True, Text="b")
    assert caught.value.fault.detail_text("Code") == "E42"
    await client.aclose()


def test_per_call_headers_are_sent(wsdl_path: Path, settings: GovLinkSettings) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_reply("h"))

    client = _sync(wsdl_path, settings, handler)
    client.call("Echo", safe=True, headers={"X-Gateway-Route": "dancu"}, Text="h")
    client.call("Echo", safe=True, Text="h")
    assert seen[0].headers["X-Gateway-Route"] == "dancu"
    assert "X-Gateway-Route" not in seen[1].headers


def test_transport_usable_with_a_plain_zeep_client(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    import zeep

    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            return httpx.Response(503)
        return httpx.Response(200, content=_reply("plain"))

    _serve(handler)
    http = HttpTransport(httpx.Client(), settings)
    client = zeep.Client(load_wsdl(wsdl_path), transport=SoapHttpTransport(http, safe=True))
    service = client.create_service(f"{{{NS}}}EchoBinding", ADDRESS)
    assert service.Echo(Text="plain") == "plain"
    assert len(attempts) == 2  # retried through govlink's policy
    assert attempts[0].headers["X-Correlation-ID"] == attempts[1].headers["X-Correlation-ID"]


# ------------------------------------------------------------- reply cap, constructors


def _huge_reply(total: int) -> Callable[[httpx.Request], httpx.Response]:
    """A valid SOAP reply of ``total`` bytes, produced lazily, 1 MiB at a time."""
    head = f'<s:Envelope xmlns:s="{ENV}"><s:Body><EchoResponse xmlns="{NS}"><Text>'.encode()
    tail = b"</Text></EchoResponse></s:Body></s:Envelope>"
    chunk = b"x" * (1 << 20)

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(total // len(chunk)):
            yield chunk
        yield tail

    return lambda request: httpx.Response(200, content=body())


def test_a_200_mb_reply_is_refused_while_read_not_parsed(
    wsdl_path: Path, settings: GovLinkSettings
) -> None:
    import tracemalloc

    from govlink.core.errors import ReplyTooLargeError
    from govlink.core.soap import SOAP_MAX_REPLY_BYTES

    client = _sync(wsdl_path, settings, _huge_reply(200 * 1024 * 1024))
    tracemalloc.start()
    try:
        with pytest.raises(ReplyTooLargeError) as caught:
            client.call("Echo", safe=True, Text="hi")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.limit == SOAP_MAX_REPLY_BYTES
    assert peak < 4 * SOAP_MAX_REPLY_BYTES  # not 800 MB: reading stopped at the cap


async def test_async_transport_is_built_by_zeeps_constructor_and_never_uses_its_clients(
    settings: GovLinkSettings,
) -> None:
    from zeep.transports import AsyncTransport, Transport

    from govlink.core.soap import AsyncSoapHttpTransport

    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    _serve(record)
    http = AsyncHttpTransport(httpx.AsyncClient(), settings)
    transport = AsyncSoapHttpTransport(http)
    assert isinstance(transport, AsyncTransport)
    assert isinstance(SoapHttpTransport(HttpTransport(httpx.Client(), settings)), Transport)
    with pytest.raises(RuntimeError, match="govlink's HTTP layer"):
        await transport.client.get("http://soap.test/")  # zeep's own client: refused
    await transport.post(ADDRESS, b"<x/>", {})
    assert [str(r.url) for r in sent] == [ADDRESS]
    await transport.aclose()


def test_a_fault_blamed_on_the_request_is_not_retryable() -> None:
    from govlink.core.errors import NotFoundError
    from govlink.core.soap import SoapFault, SoapFaultError

    client_fault = SoapFault(code="soap:Client", message="bad field", status_code=500)
    server_fault = SoapFault(code="soap:Server", message="database busy", status_code=500)
    assert SoapFaultError("x", fault=client_fault).retryable is False
    assert SoapFaultError("x", fault=server_fault).retryable is True
    # "No such record" stays so however it travels (SOAP faults come with HTTP 500).
    assert NotFoundError("no citizen", code="KHONG_TIM_THAY", status_code=500).retryable is False
