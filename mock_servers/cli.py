"""``python -m mock_servers``: start every mock until Ctrl-C or SIGTERM.

``govlink mock up`` (``govlink.cli.mock``) is the same thing with rich output; both
use :func:`banner` and :func:`serve_until_signal` from here so they behave alike.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mock_servers.profile import profile_env, profile_toml

__all__ = ["banner", "is_loopback", "main", "serve_until_signal", "startup_info"]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: the only safe default to bind."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_warning(host: str) -> str | None:
    if is_loopback(host):
        return None
    return (
        f"WARNING: binding {host}, not loopback. The mocks accept the demo credentials: "
        "anyone who can reach this address can use them. The admin API needs the token "
        "printed below and the journal masks credentials. Bind 127.0.0.1 unless you "
        "really need another machine to connect."
    )


_IN_MEMORY = "in memory (lost on exit; --state FILE.db keeps it)"


def startup_info(server: Any) -> dict[str, Any]:
    """What a script needs from a started server (``--json``)."""
    runtime = server.runtime
    token = getattr(server, "admin_token", None)
    return {
        "base_url": server.base_url,
        "admin_url": server.admin_url,
        "admin_token": token,
        "dashboard_url": f"{server.admin_url}/ui/" + (f"#token={token}" if token else ""),
        "journal_credentials": "masked" if getattr(server, "mask_credentials", False) else "shown",
        "platforms": server.urls,
        "unavailable": runtime.unavailable if runtime else {},
        "state": str(server.state_path) if server.state_path else None,
        "startup_seconds": server.startup_seconds,
        "profile": server.profile(),
        "env": profile_env(server.profile()),
    }


def banner(server: Any) -> str:
    """The human text printed on start: URLs, then the matching govlink settings."""
    info = startup_info(server)
    lines = [
        f"govlink mock platforms on {info['base_url']} "
        f"(started in {info['startup_seconds'] * 1000:.0f} ms)",
        "",
    ]
    available = {k: v for k, v in info["platforms"].items() if k not in info["unavailable"]}
    width = max((len(k) for k in info["platforms"]), default=8)
    for key, url in available.items():
        lines.append(f"  {key:<{width}}  {url}")
    for key, why in info["unavailable"].items():
        lines.append(f"  {key:<{width}}  -- {why}")
    lines += [
        "",
        f"  {'admin':<{width}}  {info['admin_url']}",
        f"  {'dashboard':<{width}}  {info['dashboard_url']}",
        f"  {'state':<{width}}  {info['state'] or _IN_MEMORY}",
        *(
            [
                f"  {'token':<{width}}  {info['admin_token']}  (admin API: "
                "'Authorization: Bearer <token>'; journal credentials masked)"
            ]
            if info["admin_token"]
            else []
        ),
        "",
        "govlink settings for this server, as a profile file (GOVLINK_PROFILE_FILE):",
        "",
        profile_toml(info["profile"]).rstrip(),
        "",
        "or as environment variables (credentials come from the built-in 'mock' profile):",
        "",
        *(f"export {name}={value}" for name, value in info["env"].items()),
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def serve_until_signal(server: Any, announce: Callable[[Any], None] | None = None) -> int:
    """Start ``server``, announce it, wait for SIGINT/SIGTERM, stop; the exit code.

    The handlers are installed *before* the server starts and stay until it has
    stopped, so a Ctrl-C at any moment (even right after the URLs are printed, or a
    second one during shutdown) ends in the same orderly ``stop()`` and exit code 0.
    Errors from ``start()`` propagate to the caller.
    """
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        if announce is not None:
            announce(server)
        while not stop.wait(0.2):
            if not server.running:
                return 1
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mock_servers",
        description="Start govlink's mock national platforms (admin API under /__admin).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8700, help="port (default 8700; 0 = free)")
    parser.add_argument("--state", type=Path, help="SQLite file that keeps the state")
    parser.add_argument("--seed", type=Path, help="JSON file whose sections replace the seed's")
    parser.add_argument(
        "--separate-ports", action="store_true", help="also serve each platform on its own port"
    )
    parser.add_argument("--fault-seed", type=int, help="seed of the fault random generator")
    parser.add_argument("--json", action="store_true", help="print the startup info as JSON")
    parser.add_argument(
        "--admin-token",
        help="token the admin API requires (generated off loopback when not given)",
    )
    parser.add_argument(
        "--journal-credentials",
        choices=("masked", "shown"),
        help="how journal reads show credentials (default: masked off loopback, shown on it)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mock_servers.seed import SeedError
    from mock_servers.server import MockServer

    warning = loopback_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    server = MockServer(
        host=args.host,
        port=args.port,
        state_path=args.state,
        seed_path=args.seed,
        separate_ports=args.separate_ports,
        fault_seed=args.fault_seed,
        admin_token=args.admin_token,
        mask_credentials=(
            None if args.journal_credentials is None else args.journal_credentials == "masked"
        ),
    )

    def announce(started: Any) -> None:
        if args.json:
            print(json.dumps(startup_info(started), ensure_ascii=False), flush=True)
        else:
            print(banner(started), flush=True)

    try:
        return serve_until_signal(server, announce)
    except (OSError, SeedError, sqlite3.DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
