"""Every route of every platform mock, fed a fixed corpus of careless and hostile input.

The mock runs as a user runs it (``python -m mock_servers`` in a subprocess, stderr
captured). Whatever arrives — JSON nested 10 000 deep, bytes that are not UTF-8, XML
where JSON was expected, broken forms, wrong types in every field — a route answers
with its platform's own error reply: never a 5xx of the mock, never a traceback on
stderr; the admin API answers it with 400. SOAP platforms answer faults with HTTP
500 as SOAP 1.1 requires: such a reply counts when it is a well-formed
``soap:Client`` fault (the caller's mistake, said so).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from mock_servers.admin import create_admin_app
from mock_servers.server import create_app, runtime_of

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")

CORPUS: list[tuple[str, bytes, dict[str, str | bytes]]] = [
    ("empty", b"", {}),
    ("deep json", b"[" * 10_000 + b"]" * 10_000, {"content-type": "application/json"}),
    ("deep object", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, {"content-type": "application/json"}),
    ("not utf-8 json", b'{"a": "\xff\xfe"}', {"content-type": "application/json"}),
    ("json array", b"[1, 2, 3]", {"content-type": "application/json"}),
    ("json scalar", b'"text"', {"content-type": "application/json"}),
    (
        "wrong types",
        json.dumps(
            {
                name: value
                for name, value in zip(
                    (
                        "username",
                        "password",
                        "token",
                        "session",
                        "MaHoSo",
                        "data",
                        "grant_type",
                        "code",
                        "amount",
                        "items",
                        "header",
                        "so_dinh_danh",
                    ),
                    ([], {}, 1, None, [], "x", 5, [], "many", {"a": 1}, [1], 123),
                    strict=True,
                )
            }
        ).encode(),
        {"content-type": "application/json"},
    ),
    ("json labelled xml", b'{"a": 1}', {"content-type": "text/xml; charset=utf-8"}),
    ("xml labelled json", b"<a><b>1</b></a>", {"content-type": "application/json"}),
    ("broken xml", b'<?xml version="1.0"?><a><b>', {"content-type": "text/xml"}),
    (
        "empty soap body",
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body/></soap:Envelope>'.encode(),
        {"content-type": "text/xml; charset=utf-8", "soapaction": '"x"'},
    ),
    (
        "entity expansion",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "xxxxxxxxxx">'
        b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;">]><a>&f;</a>',
        {"content-type": "text/xml"},
    ),
    ("deep xml", b"<a>" * 5_000 + b"</a>" * 5_000, {"content-type": "text/xml"}),
    (
        "broken form",
        b"a=%ZZ&&=b&grant_type=%ff%fe&c",
        {"content-type": "application/x-www-form-urlencoded"},
    ),
    ("binary", bytes(range(256)) * 8, {"content-type": "application/octet-stream"}),
    ("broken multipart", b"--x\r\nbroken", {"content-type": "multipart/form-data; boundary=x"}),
    (
        "garbage credentials",
        b"{}",
        {
            "content-type": "application/json",
            "authorization": "Basic !!!not-base64",
            "x-api-key": b"\xff\x00"[:1],
        },
    ),
    ("bearer nonsense", b"", {"authorization": "Bearer " + "A" * 5000}),
]

QUERY = "?%ff=%00&token=%5B%5D&limit=-1&page=abc"


def _routes(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            path = _PARAM.sub(_sample, route.path)
            for method in sorted(route.methods or {"GET", "POST"}):
                if method != "HEAD":
                    yield method, prefix + path


def _sample(match: re.Match[str]) -> str:
    kind = match.group(2)
    return {
        "int": "1",
        "float": "1.5",
        "path": "a/b",
        "uuid": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
    }.get(kind or "", "fuzz")


def _every_route() -> list[tuple[str, str]]:
    runtime = runtime_of(create_app())
    found: list[tuple[str, str]] = []
    for slot in runtime.slots.values():
        if slot.platform is None:
            continue
        routes = getattr(slot.platform.app, "routes", [])
        found += list(_routes(list(routes), slot.prefix))
    admin = create_admin_app(runtime, dict)
    for method, path in _routes(list(admin.app.routes), "/__admin"):
        if path != "/__admin/reset":  # keeps the run's journal readable afterwards
            found.append((method, path.replace("/platforms/fuzz/", "/platforms/gateway/")))
    return sorted(set(found))


def _client_soap_fault(reply: httpx.Response) -> bool:
    """A SOAP 1.1 fault blaming the client (HTTP 500 is what SOAP 1.1 prescribes)."""
    text = reply.text
    return (
        reply.status_code == 500
        and "xml" in reply.headers.get("content-type", "")
        and "Fault" in text
        and re.search(r"<faultcode>[^<]*Client[^<]*</faultcode>", text) is not None
    )


@pytest.fixture(scope="module")
def mock_process() -> Iterator[tuple[str, Any]]:
    stderr = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - read after the process ends
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_servers", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        yield info["base_url"], stderr
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_every_route_of_every_platform_survives_the_corpus(
    mock_process: tuple[str, Any],
) -> None:
    base_url, stderr = mock_process
    routes = _every_route()
    assert len(routes) > 30, routes  # every platform's routes, not a handful
    failures: list[str] = []
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as http:
        for method, path in routes:
            for name, body, headers in CORPUS:
                for query in ("", QUERY) if name == "empty" else ("",):
                    try:
                        reply = http.request(method, path + query, content=body, headers=headers)
                    except httpx.HTTPError as exc:
                        failures.append(f"{method} {path}{query} [{name}]: {exc!r}")
                        continue
                    if reply.status_code >= 500 and not _client_soap_fault(reply):
                        failures.append(
                            f"{method} {path}{query} [{name}]: {reply.status_code} "
                            f"{reply.text[:200]!r}"
                        )
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])
    stderr.seek(0)
    logged = stderr.read().decode("utf-8", "replace")
    assert "Traceback" not in logged, logged[-4000:]
