"""Per-request cost of the mock server's machinery: journal, faults, clock, input guard.

One child process serves two apps built from the same runtime, each on its own
loopback port with uvicorn, exactly as ``govlink mock up`` serves:

* **full** — the app ``create_app`` builds: every request journaled on arrival and on
  reply (headers and body kept), checked against the fault book (three faults aimed
  at other paths of the same platform, so every request scans them), stamped with the
  virtual clock, its body capped and checked for hostile nesting, on the connection-
  tracking protocol that lets faults reset connections;
* **bare** — the same routes (root, admin API, platforms under their prefixes) with the
  platform apps mounted directly, on uvicorn's plain h11 protocol.

The parent sends the same requests to both, interleaved round by round, and counts
requests per **CPU second of the server process** (from ``/proc``): on a shared
machine wall time also counts other processes' turns. Two routes: the gateway's
protected ``GET /gateway/api/ping`` (a bearer token looked up in the store) and the
echo platform's ``POST /echo/…`` with a 1 KiB JSON body. The last line printed is one
JSON object; ``overhead_ratio`` is the worse of the two ``bare/full`` ratios.
Target: ≤ 1.3.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROUNDS = 5
REQUESTS_PER_ROUND = 800
TARGET = 1.3


# --- the server process -------------------------------------------------------------------


def serve() -> None:
    """Child: serve full and bare apps on two free ports until stdin closes."""
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from mock_servers import echo
    from mock_servers.connections import TrackingH11Protocol
    from mock_servers.server import create_app, runtime_of

    full = create_app(
        platforms={"gateway": "mock_servers.gateway"}, extra_platforms=[echo.create_platform]
    )
    runtime = runtime_of(full)
    for other in ("sso", "payments", "documents"):
        runtime.faults.add(
            {"platform": "gateway", "path": f"/{other}-only", "status": 503}, runtime.resolve
        )
    unwrapped = {slot.prefix: slot.platform.app for slot in runtime.slots.values() if slot.platform}
    bare = Starlette(
        routes=[
            Mount(route.path, app=unwrapped[route.path])
            if isinstance(route, Mount) and route.path in unwrapped
            else route
            for route in full.routes
        ]
    )
    sockets = []
    servers = []
    for app, protocol in ((full, TrackingH11Protocol), (bare, "h11")):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sockets.append(sock)
        config = uvicorn.Config(
            app,
            http=protocol,  # type: ignore[arg-type]
            loop="asyncio",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
        )
        servers.append(uvicorn.Server(config))

    async def main() -> None:
        tasks = [
            asyncio.create_task(server.serve(sockets=[sock]))
            for server, sock in zip(servers, sockets, strict=True)
        ]
        while not all(server.started for server in servers):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        ports = [int(sock.getsockname()[1]) for sock in sockets]
        print(json.dumps({"full": ports[0], "bare": ports[1]}), flush=True)
        await asyncio.gather(*tasks)

    def watch_stdin() -> None:
        sys.stdin.read()
        for server in servers:
            server.should_exit = True

    threading.Thread(target=watch_stdin, daemon=True).start()
    asyncio.run(main())
    print(json.dumps({"journal_entries": len(runtime.journal)}), flush=True)


# --- the measuring process ----------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _rate(pid: int, http: httpx.Client, request: dict[str, Any]) -> float:
    """Requests per CPU second of the server process, over one round."""
    before = _cpu_seconds(pid)
    for _ in range(REQUESTS_PER_ROUND):
        reply = http.request(**request)
        if reply.status_code != 200:
            raise RuntimeError(f"{request['url']}: HTTP {reply.status_code} {reply.text[:200]}")
    spent = _cpu_seconds(pid) - before
    return REQUESTS_PER_ROUND / max(spent, 1e-3)


def main() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        ports = json.loads(child.stdout.readline())
        bases = {side: f"http://127.0.0.1:{ports[side]}" for side in ("full", "bare")}
        clients = {side: httpx.Client(base_url=url, trust_env=False) for side, url in bases.items()}
        token = (
            clients["full"]
            .post(
                "/gateway/token",
                data={"grant_type": "client_credentials"},
                auth=("govlink-demo", "demo-gateway-secret"),
            )
            .json()["access_token"]
        )
        payload = json.dumps({"MaHoSo": "000.00.00.H47-260101-0001", "note": "x" * 960})
        routes: dict[str, dict[str, Any]] = {
            "ping": {
                "method": "GET",
                "url": "/gateway/api/ping",
                "headers": {"authorization": f"Bearer {token}"},
            },
            "echo": {
                "method": "POST",
                "url": "/echo/bench",
                "content": payload.encode(),
                "headers": {"content-type": "application/json"},
            },
        }
        results: dict[str, dict[str, float]] = {}
        for name, request in routes.items():
            for side in ("full", "bare"):  # warm both
                for _ in range(100):
                    clients[side].request(**request)
            rates: dict[str, list[float]] = {"full": [], "bare": []}
            for _ in range(ROUNDS):
                for side in ("full", "bare"):
                    rates[side].append(_rate(child.pid, clients[side], request))
            best_full, best_bare = max(rates["full"]), max(rates["bare"])
            results[name] = {
                "full_per_cpu_s": round(best_full),
                "bare_per_cpu_s": round(best_bare),
                "ratio": round(best_bare / best_full, 3),
                "overhead_us": round((1 / best_full - 1 / best_bare) * 1e6, 1),
            }
        for client in clients.values():
            client.close()
    finally:
        child.stdin.close()
        tail = child.stdout.read()
        child.wait(timeout=30)
    entries = json.loads(tail.strip().splitlines()[-1])["journal_entries"] if tail.strip() else 0

    print("Mock server per-request cost over HTTP (uvicorn, server CPU, best of 5 rounds)")
    for name, figures in results.items():
        full_rate, bare_rate = figures["full_per_cpu_s"], figures["bare_per_cpu_s"]
        print(
            f"  {name:<5} full {full_rate:>6,.0f}/CPU s   bare {bare_rate:>6,.0f}/CPU s"
            f"   ratio {figures['ratio']:.2f}x   overhead {figures['overhead_us']:.0f} µs/request"
        )
    ratio = max(f["ratio"] for f in results.values())
    verdict = "OK" if ratio <= TARGET else "MISSED"
    print(f"  worst ratio {ratio:.2f}x (target <= {TARGET}x): {verdict}")
    print(
        json.dumps(
            {
                "overhead_ratio": ratio,
                "target_ratio": TARGET,
                "ping_full_per_cpu_s": results["ping"]["full_per_cpu_s"],
                "ping_bare_per_cpu_s": results["ping"]["bare_per_cpu_s"],
                "ping_overhead_us": results["ping"]["overhead_us"],
                "echo_full_per_cpu_s": results["echo"]["full_per_cpu_s"],
                "echo_bare_per_cpu_s": results["echo"]["bare_per_cpu_s"],
                "echo_overhead_us": results["echo"]["overhead_us"],
                "journal_entries": entries,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
