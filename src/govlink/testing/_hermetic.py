"""Refuse every network connection that would leave the machine.

A CI pipeline that tests against the mocks should be able to *prove* it never
touched a real platform (a forgotten production URL in a profile, a library that
phones home). While :class:`HermeticGuard` is installed, ``socket.connect`` /
``connect_ex`` / ``sendto``, ``socket.create_connection`` and DNS lookups
(``getaddrinfo`` of anything but ``localhost``) to a non-loopback address raise
:class:`HermeticViolation` *before* the real call, so not one packet is sent. Unix
sockets and loopback (127.0.0.0/8, ::1) pass.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

__all__ = ["HermeticGuard", "HermeticViolation", "is_loopback_address"]

_LOCAL_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


class HermeticViolation(Exception):
    """A hermetic test tried to reach a non-loopback address.

    Deliberately not an ``OSError``: retry loops that swallow network errors must not
    hide it.
    """


def _host_of(address: Any) -> str | None:
    """The host part of a socket address; None for Unix socket paths."""
    if isinstance(address, str | bytes | bytearray):
        return None
    if isinstance(address, tuple) and address:
        host = address[0]
        return host.decode() if isinstance(host, bytes) else str(host)
    return str(address)


def is_loopback_address(host: str) -> bool:
    """True for loopback literals (127.0.0.0/8, ::1, IPv4-mapped loopback) and
    ``localhost``."""
    name = host.strip("[]").split("%", 1)[0]
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class HermeticGuard:
    """Install with ``with HermeticGuard(): ...`` (or :meth:`install`/:meth:`uninstall`).

    ``violations`` lists what was refused, so a test that swallowed the exception
    still fails afterwards (the pytest plugin checks it).
    """

    _install_lock = threading.Lock()

    def __init__(self) -> None:
        self.violations: list[str] = []
        self._saved: dict[tuple[Any, str], Any] = {}

    def _refuse(self, what: str, host: str, address: Any) -> None:
        message = (
            f"hermetic test tried to {what} {address!r}: only loopback (127.0.0.1, ::1, "
            f"localhost) is allowed, so no request can reach a real platform. Point the "
            f"client at the mock (govlink_mock.settings()) instead of {host}."
        )
        self.violations.append(message)
        raise HermeticViolation(message)

    def check_connect(self, address: Any, what: str = "connect to") -> None:
        """Raise :class:`HermeticViolation` unless ``address`` is loopback or a Unix path."""
        host = _host_of(address)
        if host is not None and not is_loopback_address(host):
            self._refuse(what, host, address)

    def check_lookup(self, host: Any) -> None:
        """DNS lookups leave the machine too: only literals and ``localhost`` pass."""
        if host is None:
            return
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name == "" or _is_literal(name) or is_loopback_address(name):
            return
        self._refuse("resolve", name, name)

    def install(self) -> None:
        with self._install_lock:
            if self._saved:
                return
            guard = self
            real_connect = socket.socket.connect
            real_connect_ex = socket.socket.connect_ex
            real_sendto = socket.socket.sendto
            real_create = socket.create_connection
            real_getaddrinfo = socket.getaddrinfo

            def connect(sock: socket.socket, address: Any) -> None:
                guard.check_connect(address)
                real_connect(sock, address)

            def connect_ex(sock: socket.socket, address: Any) -> int:
                guard.check_connect(address)
                return real_connect_ex(sock, address)

            def sendto(sock: socket.socket, data: Any, *args: Any) -> int:
                if args:
                    guard.check_connect(args[-1], "send a datagram to")
                return int(real_sendto(sock, data, *args))

            def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
                guard.check_connect(address)
                return real_create(address, *args, **kwargs)

            def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
                guard.check_lookup(host)
                return real_getaddrinfo(host, *args, **kwargs)

            replacements: list[tuple[Any, str, Callable[..., Any]]] = [
                (socket.socket, "connect", connect),
                (socket.socket, "connect_ex", connect_ex),
                (socket.socket, "sendto", sendto),
                (socket, "create_connection", create_connection),
                (socket, "getaddrinfo", getaddrinfo),
            ]
            for owner, name, replacement in replacements:
                self._saved[(owner, name)] = getattr(owner, name)
                setattr(owner, name, replacement)

    def uninstall(self) -> None:
        with self._install_lock:
            for (owner, name), original in self._saved.items():
                setattr(owner, name, original)
            self._saved.clear()

    @property
    def installed(self) -> bool:
        return bool(self._saved)

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()
