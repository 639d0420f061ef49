"""The base class every platform mock derives from.

A platform mock is a Starlette app mounted under its prefix (``/sso``, ``/dvcqg``…)
plus the hooks the server and dashboard use: :meth:`reset`, :meth:`summary`,
:meth:`apply_switches` and :meth:`error_reply`. Request journaling, fault injection,
the request-body cap and the malformed-input guard are done by the server around
every platform (:mod:`mock_servers.middleware`), so a platform mock never has to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from mock_servers.context import MockContext
from mock_servers.validation import Switch, validate_switches

__all__ = ["MalformedRequest", "MockPlatform", "default_error_reply"]


class MalformedRequest:
    """What the server knows about a request it refused before the platform ran.

    ``status`` is 400 (body not parseable: too deeply nested, bad encoding…) or 413
    (body over the cap); ``reason`` is a short machine word (``too_deep``,
    ``too_large``, ``bad_encoding``, ``unparseable``), ``detail`` a sentence.
    """

    def __init__(
        self, *, status: int, reason: str, detail: str, path: str, content_type: str
    ) -> None:
        self.status = status
        self.reason = reason
        self.detail = detail
        self.path = path
        self.content_type = content_type

    @property
    def is_soap(self) -> bool:
        """The request spoke XML (SOAP platforms answer faults in XML)."""
        lowered = self.content_type.lower()
        return "xml" in lowered


class MockPlatform(ABC):
    """One national platform's mock. Subclasses set ``name``/``prefix`` and build ``app``."""

    name: str = ""
    prefix: str = ""
    title: str = ""
    switch_names: tuple[str, ...] = ()
    """Admin switches this mock understands (validated by the admin API)."""
    switch_specs: Mapping[str, Switch] = {}
    """How each switch is checked (:class:`mock_servers.validation.Switch`), all or nothing,
    before any is stored: a wrong type or ``NaN`` is a 400, never a 500 on a later request."""

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx

    @property
    @abstractmethod
    def app(self) -> ASGIApp:
        """The platform's ASGI app, mounted by the server under :attr:`prefix`."""

    def reset(self) -> None:
        """Forget everything received; keep the seed. Called by ``/__admin/reset``."""
        self.ctx.store.clear(f"{self.name}.")
        self.ctx.switches(self.name).clear()

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view of the state, for ``/__admin/state`` and the dashboard.

        Keep it bounded: counts and at most a short page of items, never every record
        (the dashboard polls it every second).
        """
        return {}

    def apply_switches(self, switches: dict[str, Any]) -> None:
        """Validate and store admin switches; raise ``ValueError`` naming a bad one.

        The default checks each against :attr:`switch_specs` (names in
        :attr:`switch_names` without a spec are stored as given).
        """
        checked = validate_switches(self.name, self.switch_specs, self.switch_names, switches)
        self.ctx.switches(self.name).update(checked)

    def error_reply(self, problem: MalformedRequest) -> Response:
        """The platform's own error reply for a request refused before it ran.

        The default is a SOAP 1.1 fault for XML requests and an OAuth-style JSON
        error otherwise; a platform whose real error shape differs overrides this.
        """
        return default_error_reply(problem)


def default_error_reply(problem: MalformedRequest) -> Response:
    """A SOAP 1.1 fault for an XML request, else an OAuth-style JSON error."""
    if problem.is_soap:
        fault = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            "<soap:Body><soap:Fault><faultcode>soap:Client</faultcode>"
            f"<faultstring>{escape(problem.detail)}</faultstring>"
            "</soap:Fault></soap:Body></soap:Envelope>"
        )
        return Response(fault, status_code=problem.status, media_type="text/xml; charset=utf-8")
    return JSONResponse(
        {"error": "invalid_request", "error_description": problem.detail},
        status_code=problem.status,
    )
