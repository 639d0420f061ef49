"""Population-database lookups per second against the local mock, and the SDK's overhead.

The mock server runs in a subprocess (``python -m mock_servers --port 0``), so client
and server do not share a GIL, as with a real service. Measured in one run:

* ``sync_lookups_per_s``: ``CitizenClient.lookup`` one after another;
* ``async_lookups_per_s``: ``AsyncCitizenClient.lookup`` with 16 in flight;
* ``overhead_vs_zeep``: time per sync call of ``CitizenClient.lookup`` divided by the
  time per call of a bare ``zeep.Client`` (its default transport, the same WSDL, the
  same request and auth header, no validation, no model, no retries or evidence),
  measured in 20 alternating rounds so that load from other processes hits both
  alike; the median of the adjacent rounds' ratios is reported (client CPU time per
  call is printed too). Also shown, not part of the JSON: the same
  against zeep's own httpx ``AsyncClient`` sequentially.

The mock's own CPU time per request (read from ``/proc`` on Linux) is printed next
to the client's, to show which side limits the rate. It also checks that the WSDL
was parsed once in this process however many SDK clients were built.
Targets: ≥ 500 lookups/s async, overhead ≤ 1.3× bare zeep.
The last line printed is one JSON object:
``{"async_lookups_per_s": …, "sync_lookups_per_s": …, "overhead_vs_zeep": …}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import httpx
import requests
import zeep
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport

from govlink.citizens import AsyncCitizenClient, CitizenClient
from govlink.citizens.client import WSDL_PATH
from govlink.core.clock import SystemClock, format_compact
from govlink.core.config import GovLinkSettings
from govlink.core.soap import wsdl_load_count

WHO = ("001085000001", "Nguyễn Văn An", "1985-03-12")
PARAMS = {
    "SoDinhDanh": "001085000001",
    "HoVaTen": "NGUYỄN VĂN AN",
    "NgayThangNamSinh": {"NgayThangNam": "19850312"},
}
BINDING = "{http://dancuquocgia.bca}DanCuBinding"
CONCURRENCY = 16
ROUNDS = 20
CALLS_PER_ROUND = 50
ASYNC_CALLS = 3000


def _start_mock() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_servers", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise SystemExit("the mock server did not start (python -m mock_servers)")
    return process, json.loads(line)


def _digest_header(url: str, user: str, secret: str) -> dict[str, str]:
    stamp = format_compact(SystemClock().now())
    digest = hashlib.sha256(f"{url}{user}{stamp}{secret}".encode()).hexdigest()
    token = base64.b64encode(f"{user}:{digest}".encode()).decode()
    return {"Timestamp": stamp, "Authorization": f"Basic {token}"}


class _RequestsHashedBasic(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(
            _digest_header(str(request.url), "govlink-demo", "demo-dancu-secret")
        )
        return request


class _HttpxHashedBasic(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(
            _digest_header(str(request.url), "govlink-demo", "demo-dancu-secret")
        )
        yield request


def _per_call(fn: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


async def _per_call_async(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await fn()
    return (time.perf_counter() - started) / calls


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid``; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _throughput(
    fn: Callable[[], Awaitable[object]], calls: int, server_pid: int
) -> tuple[float, float, float | None]:
    """(calls per second, client CPU ms per call, mock CPU ms per call or None) with
    CONCURRENCY calls in flight."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with semaphore:
            await fn()

    await asyncio.gather(*(one() for _ in range(CONCURRENCY * 4)))  # warm the pool
    server_cpu = _process_cpu(server_pid)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = _process_cpu(server_pid)
    server_ms = (
        (server_after - server_cpu) / calls * 1000
        if server_cpu is not None and server_after is not None
        else None
    )
    return calls / elapsed, cpu / calls * 1000, server_ms


def _mock_cpu(server_ms: float | None) -> str:
    return f", mock CPU {server_ms:.2f} ms/request" if server_ms is not None else ""


def main() -> None:
    process, info = _start_mock()
    try:
        settings = GovLinkSettings.load(profile="mock", **info["profile"])
        endpoint = f"{info['platforms']['citizens']}/CongDanService"

        sdk = CitizenClient(settings)
        session = requests.Session()
        session.auth = _RequestsHashedBasic()
        bare = zeep.Client(str(WSDL_PATH), transport=zeep.Transport(session=session))
        bare_service = bare.create_service(BINDING, endpoint)
        counter = iter(range(10**9))

        def bare_call() -> object:
            return bare_service.TraCuuThongTinCongDan(MaYeuCau=f"bare-{next(counter)}", **PARAMS)

        def sdk_call() -> object:
            return sdk.lookup(*WHO)

        for fn in (bare_call, sdk_call):  # warm both: connections, caches
            _per_call(fn, 50)
        sdk_rounds: list[float] = []
        bare_rounds: list[float] = []
        sdk_cpu = bare_cpu = 0.0
        for _ in range(ROUNDS):
            cpu = time.process_time()
            bare_rounds.append(_per_call(bare_call, CALLS_PER_ROUND))
            bare_cpu += time.process_time() - cpu
            cpu = time.process_time()
            sdk_rounds.append(_per_call(sdk_call, CALLS_PER_ROUND))
            sdk_cpu += time.process_time() - cpu
        sdk_per_call = statistics.median(sdk_rounds)
        bare_per_call = statistics.median(bare_rounds)
        sync_per_s = 1 / sdk_per_call
        # Adjacent rounds share the machine's load: the median of their ratios is the
        # estimate least moved by other processes.
        overhead = statistics.median(s / b for s, b in zip(sdk_rounds, bare_rounds, strict=True))
        print(f"sync SDK lookup:          {sdk_per_call * 1000:6.2f} ms/call ({sync_per_s:,.0f}/s)")
        print(f"bare zeep (requests):     {bare_per_call * 1000:6.2f} ms/call")
        print(f"overhead vs bare zeep:    {overhead:.2f}x wall time (target <= 1.3)")
        print(
            f"client CPU per call:      SDK {sdk_cpu / (ROUNDS * CALLS_PER_ROUND) * 1000:.2f} ms, "
            f"bare zeep {bare_cpu / (ROUNDS * CALLS_PER_ROUND) * 1000:.2f} ms "
            f"({sdk_cpu / bare_cpu:.2f}x)"
        )
        sdk.close()

        async def run_async() -> tuple[float, float, float]:
            async with AsyncCitizenClient(settings) as client:
                rate, cpu_ms, mock_ms = await _throughput(
                    lambda: client.lookup(*WHO), ASYNC_CALLS, process.pid
                )
                one_by_one = await _per_call_async(lambda: client.lookup(*WHO), 300)
            print(
                f"async SDK, {CONCURRENCY} in flight: {rate:,.0f} lookups/s (target >= 500), "
                f"client CPU {cpu_ms:.2f} ms/lookup{_mock_cpu(mock_ms)}"
            )
            zeep_async = zeep.AsyncClient(
                str(WSDL_PATH),
                transport=AsyncTransport(client=httpx.AsyncClient(auth=_HttpxHashedBasic())),
            )
            binding = zeep_async.wsdl.bindings[BINDING]
            service = AsyncServiceProxy(zeep_async, binding, address=endpoint)

            async def zeep_call() -> object:
                return await service.TraCuuThongTinCongDan(MaYeuCau="a", **PARAMS)

            await _per_call_async(zeep_call, 50)
            zeep_rate, zeep_cpu, zeep_mock = await _throughput(
                zeep_call, ASYNC_CALLS // 2, process.pid
            )
            print(
                f"bare zeep AsyncClient (httpx), {CONCURRENCY} in flight: {zeep_rate:,.0f}/s, "
                f"client CPU {zeep_cpu:.2f} ms/call{_mock_cpu(zeep_mock)}"
            )
            zeep_one = await _per_call_async(zeep_call, 300)
            await zeep_async.transport.aclose()
            return rate, one_by_one, zeep_one

        async_per_s, async_one, zeep_async_one = asyncio.run(run_async())
        print(
            f"async sequential: SDK {async_one * 1000:.2f} ms/call, bare zeep AsyncClient "
            f"(httpx) {zeep_async_one * 1000:.2f} ms/call ({async_one / zeep_async_one:.2f}x)"
        )

        # More clients, same process: the SDK writes and reads the XML itself, so
        # creating a client parses no WSDL at all.
        extra = [CitizenClient(settings) for _ in range(10)]
        for client in extra:
            client.close()
        loads = wsdl_load_count()
        print(f"WSDL parsed {loads} time(s) by govlink in this process for 13 SDK clients")
        assert loads == 0, f"govlink parsed a WSDL {loads} times; the citizens client needs none"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    print(
        json.dumps(
            {
                "async_lookups_per_s": round(async_per_s, 1),
                "sync_lookups_per_s": round(sync_per_s, 1),
                "overhead_vs_zeep": round(overhead, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
