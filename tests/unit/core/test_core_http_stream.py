"""Reply size caps, streamed replies and downloads to a sink (respx-mocked platform)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from govlink.core.config import GovLinkSettings
from govlink.core.errors import (
    GovLinkError,
    PlatformError,
    ReplyTooLargeError,
    TokenUnavailableError,
)
from govlink.core.http import (
    CORRELATION_HEADER,
    AsyncHttpTransport,
    FileSink,
    HttpTransport,
    RetryPolicy,
)

BASE = "https://platform.test"
MIB = 1024 * 1024


def _settings(**http: object) -> GovLinkSettings:
    values: dict[str, object] = {"max_retries": 2, "backoff_initial": 0.0, "backoff_max": 0.0}
    values.update(http)
    return GovLinkSettings(http=values)  # type: ignore[arg-type]


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    with HttpTransport(
        httpx.Client(base_url=BASE), _settings(max_reply_bytes=MIB), sleep=lambda _: None
    ) as shell:
        yield shell


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# -- caps ----------------------------------------------------------------------------


@respx.mock
def test_a_declared_length_over_the_cap_is_refused_before_reading(
    transport: HttpTransport,
) -> None:
    route = respx.get(f"{BASE}/big").mock(
        return_value=httpx.Response(200, content=b"x" * (2 * MIB))
    )
    with pytest.raises(ReplyTooLargeError, match="1048576-byte cap") as caught:
        transport.request("GET", "/big", safe=True)
    assert route.call_count == 1  # never retried: the same request brings the same reply
    assert caught.value.retryable is False
    assert caught.value.limit == MIB
    assert caught.value.evidence.correlation_id == caught.value.correlation_id


@respx.mock
def test_a_chunked_reply_is_counted_while_it_arrives(transport: HttpTransport) -> None:
    reply = httpx.Response(200, content=_chunks(b"y" * (3 * MIB)))
    assert "content-length" not in reply.headers
    respx.get(f"{BASE}/chunked").mock(return_value=reply)
    with pytest.raises(ReplyTooLargeError) as caught:
        transport.request("GET", "/chunked", safe=True)
    assert caught.value.evidence.response_size == MIB + 64 * 1024  # stopped one chunk past


@respx.mock
def test_a_compressed_reply_is_capped_after_decoding(transport: HttpTransport) -> None:
    bomb = gzip.compress(b"0" * (8 * MIB))  # about 8 KiB on the wire
    respx.get(f"{BASE}/gz").mock(
        return_value=httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(ReplyTooLargeError):
        transport.request("GET", "/gz", safe=True)


@respx.mock
def test_replies_under_the_cap_read_as_before(transport: HttpTransport) -> None:
    body = b'{"ok": true}'
    respx.get(f"{BASE}/gz").mock(
        return_value=httpx.Response(
            200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"}
        )
    )
    respx.get(f"{BASE}/chunked").mock(return_value=httpx.Response(200, content=_chunks(body, 3)))
    assert transport.request("GET", "/gz", safe=True).json() == {"ok": True}
    reply = transport.request("GET", "/chunked", safe=True)
    assert reply.content == body
    assert reply.evidence.response_size == len(body)


def test_the_cap_is_a_setting_with_a_sane_default() -> None:
    assert GovLinkSettings().http.max_reply_bytes == 64 * MIB
    with pytest.raises(ValueError, match="max_reply_bytes"):
        GovLinkSettings(http={"max_reply_bytes": 10})  # type: ignore[arg-type]


# -- retry policy on GovLinkError.retryable --------------------------------------------


def test_the_policy_decides_on_retryable() -> None:
    policy = RetryPolicy()
    assert policy.should_retry(TokenUnavailableError("token endpoint 503"), safe=False)
    assert not policy.should_retry(ReplyTooLargeError("big", limit=1), safe=True)
    assert not policy.should_retry(GovLinkError("refused"), safe=True)
    busy = PlatformError("portal busy", status_code=503)
    assert policy.should_retry(busy, safe=True)
    assert not policy.should_retry(busy, safe=False)  # it may have been processed


# -- stream() ------------------------------------------------------------------------


@respx.mock
def test_stream_retries_a_safe_open_and_keeps_one_correlation_id(
    transport: HttpTransport,
) -> None:
    route = respx.get(f"{BASE}/file").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"abc" * 1000)]
    )
    with transport.stream("GET", "/file", safe=True) as reply:
        assert reply.status_code == 200
        body = b"".join(reply.response.iter_bytes())
    assert body == b"abc" * 1000
    assert route.call_count == 2
    cids = {call.request.headers[CORRELATION_HEADER] for call in route.calls}
    assert cids == {reply.correlation_id}
    assert reply.evidence.attempts == 2
    assert reply.evidence.status_code == 200


@respx.mock
def test_stream_does_not_retry_an_unsafe_request_on_5xx(transport: HttpTransport) -> None:
    route = respx.post(f"{BASE}/file").mock(return_value=httpx.Response(502))
    with (
        pytest.raises(GovLinkError, match="HTTP 502"),
        transport.stream("POST", "/file", safe=False),
    ):
        pass
    assert route.call_count == 1


def test_async_stream_matches_the_sync_one() -> None:
    async def main() -> bytes:
        with respx.mock:
            respx.get(f"{BASE}/file").mock(
                side_effect=[httpx.Response(503), httpx.Response(200, content=b"z" * 10)]
            )

            async def no_sleep(_: float) -> None:
                return None

            client = httpx.AsyncClient(base_url=BASE)
            async with (
                AsyncHttpTransport(client, _settings(), sleep=no_sleep) as shell,
                shell.stream("GET", "/file", safe=True) as reply,
            ):
                return b"".join([chunk async for chunk in reply.response.aiter_bytes()])

    assert asyncio.run(main()) == b"z" * 10


# -- download() to a sink ------------------------------------------------------------


@respx.mock
def test_download_retries_a_safe_request_and_leaves_only_the_whole_file(
    transport: HttpTransport, tmp_path: Path
) -> None:
    body = b"%PDF-" + b"r" * 200_000
    respx.get(f"{BASE}/receipt").mock(
        side_effect=[httpx.Response(503, text="busy"), httpx.Response(200, content=body)]
    )
    target = tmp_path / "receipt.pdf"
    done = transport.download("GET", "/receipt", FileSink(target), safe=True)
    assert target.read_bytes() == body
    assert done.size == len(body)
    assert done.evidence.attempts == 2
    assert done.evidence.status_code == 200
    assert done.evidence.response_size == len(body)
    assert done.evidence.response_body == b""  # the body went to the file, not memory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["receipt.pdf"]


@respx.mock
def test_an_error_reply_is_never_saved_as_the_file(
    transport: HttpTransport, tmp_path: Path
) -> None:
    respx.get(f"{BASE}/receipt").mock(
        return_value=httpx.Response(404, json={"error": "no such bill"})
    )
    with pytest.raises(PlatformError, match="HTTP 404"):
        transport.download("GET", "/receipt", FileSink(tmp_path / "r.pdf"), safe=True)
    assert list(tmp_path.iterdir()) == []


@respx.mock
def test_a_sink_check_sees_the_head_and_may_refuse(
    transport: HttpTransport, tmp_path: Path
) -> None:
    respx.get(f"{BASE}/receipt").mock(return_value=httpx.Response(200, json={"code": "E1"}))

    def must_be_pdf(status: int, headers: httpx.Headers, head: bytes) -> None:
        if not head.startswith(b"%PDF-"):
            raise PlatformError(f"not a PDF (HTTP {status})", raw=head)

    sink = FileSink(tmp_path / "r.pdf", check=must_be_pdf)
    with pytest.raises(PlatformError, match="not a PDF"):
        transport.download("GET", "/receipt", sink, safe=True)
    assert list(tmp_path.iterdir()) == []
