"""Sync and async clients for the population database (PLATFORMS.md §4).

Every method asks :mod:`govlink.citizens._operations` for a prepared call and runs
:meth:`_Core.plan` on it with :class:`govlink.core.driver.Runner` /
:class:`~govlink.core.driver.AsyncRunner` (one POST through govlink's HTTP layer:
retries, correlation id, reply size cap, masked logs; the runner attaches the call's
evidence to the result or the error). The gateway auth comes from the profile
(``settings.citizens.auth.style``: ``hashed_basic``, ``x_road``,
``client_credentials_basic``/``_form``, ``bearer``…) via :func:`govlink.core.auth.auth_for`;
the wire format from ``settings.citizens.options.transport``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from govlink.citizens import _operations as ops
from govlink.citizens._operations import BirthDateInput, Prepared
from govlink.citizens._wire import Fields, wire_format
from govlink.citizens.models import (
    Citizen,
    Gender,
    Household,
    MaritalStatusResult,
    RequestStatus,
    VerificationResult,
)
from govlink.citizens.options import CitizensOptions
from govlink.core.auth import auth_for
from govlink.core.config import GovLinkSettings, PlatformSettings
from govlink.core.driver import AsyncRunner, Plan, Runner, Send
from govlink.core.errors import GovLinkError, ReplyTooLargeError
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    Reply,
    build_async_client,
    build_client,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.core.soap import SOAP_RETRY_STATUSES

__all__ = ["WSDL_PATH", "AsyncCitizenClient", "CitizenClient", "service_address"]

R = TypeVar("R")

WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "dancu.wsdl"
"""The published WSDL (its schema inline); never fetched from the service nor parsed at run time."""

DEFAULT_SERVICE_PATH = "/CongDanService"
"""Endpoint path under ``settings.citizens.base_url`` (override: ``paths.service``)."""

DEFAULT_GATEWAY_PATH = "/gateway/{operation}"
"""Provincial-gateway endpoint per operation (override: ``paths.gateway``)."""


def _join(platform: PlatformSettings, path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return f"{platform.base_url}{path if path.startswith('/') else '/' + path}"


def service_address(platform: PlatformSettings) -> str:
    """The SOAP endpoint: ``base_url`` + ``paths.service`` (an absolute URL wins)."""
    return _join(platform, platform.paths.get("service", DEFAULT_SERVICE_PATH))


class _Core:
    """What both clients share: options, wire format, addresses, and the one send step."""

    def __init__(
        self,
        settings: GovLinkSettings | None,
        request_id_factory: Callable[[], str] | None,
    ) -> None:
        self.settings = settings or GovLinkSettings.load()
        self.platform = self.settings.platform("citizens")
        self.options = CitizensOptions.of(self.settings)
        self.wire = wire_format(self.options.transport)
        self.address = service_address(self.platform)
        self.gateway_path = self.platform.paths.get("gateway", DEFAULT_GATEWAY_PATH)
        self.request_id_factory = request_id_factory or ops.new_request_id
        self.auth = auth_for(self.settings, "citizens")

    def person(
        self,
        operation: str,
        finish: ops.Finish[R],
        id_number: object,
        full_name: object,
        birth_date: object,
        old_id_number: object,
        request_id: str | None,
        more: Fields = (),
    ) -> Prepared[R]:
        """The prepared call of an operation about one person."""
        return ops.person_call(
            operation,
            finish,
            self.options,
            id_number=id_number,
            full_name=full_name,
            birth_date=birth_date,
            old_id_number=old_id_number,
            request_id=request_id,
            request_id_factory=self.request_id_factory,
            more=more,
        )

    def url(self, operation: str) -> str:
        if self.wire.name == "gateway_json":
            return _join(self.platform, self.gateway_path.format(operation=operation))
        return self.address

    def plan(self, call: Prepared[R]) -> Plan[R]:
        """The one plan every operation runs (sync or async, through the core runners):
        write the request, send it once (retries are the transport's), read the answer."""
        encoded = self.wire.encode(call.operation, call.fields)
        try:
            reply: Reply = yield Send(
                "POST",
                self.url(call.operation),
                safe=call.safe,
                headers=encoded.headers,
                content=encoded.content,
                retry_statuses=SOAP_RETRY_STATUSES,
                max_bytes=self.options.max_reply_bytes,
            )
        except ReplyTooLargeError as exc:
            exc.hint = (
                f"{call.operation} replies are a few KiB per record; if this one is expected, "
                "raise GOVLINK_CITIZENS__OPTIONS__MAX_REPLY_BYTES"
            )
            raise
        try:
            answer = self.wire.decode(
                call.operation,
                reply.content,
                reply.status_code,
                max_bytes=self.options.max_reply_bytes,
                correlation_id=reply.correlation_id,
                map_fault=ops.map_fault,
            )
        except GovLinkError as exc:
            if exc.correlation_id is None:
                exc.correlation_id = reply.correlation_id
            raise
        return call.finish(answer, reply.evidence)


class CitizenClient(Closable):
    """Look up and verify citizens (synchronous).

    ``with CitizenClient(settings) as client: client.lookup(id_number="001085000001",
    full_name="Nguyễn Văn An", birth_date="1985-03-12")``
    """

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        self._core = _Core(settings, request_id_factory)
        self.settings = self._core.settings
        client = build_client(self.settings, "citizens", transport=transport, auth=self._core.auth)
        self.http = HttpTransport(client, self.settings)
        self._runner = Runner(self.http)

    def _send(self, call: Prepared[R]) -> R:
        return self._runner.run(self._core.plan(call))

    def lookup(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> Citizen:
        """``TraCuuThongTinCongDan``: the record of the citizen with this ID, name and
        birth date (full date or year only).

        Raises :class:`~govlink.core.errors.ValidationError` before sending,
        :class:`~govlink.core.errors.NotFoundError` when no record matches,
        :class:`~govlink.core.errors.AuthenticationError` when the credentials are refused
        and :class:`~govlink.core.errors.PlatformError` for other faults.
        """
        return self._send(
            self._core.person(
                "TraCuuThongTinCongDan",
                ops.first_citizen,
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    def verify(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        gender: str | Gender | None = None,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> VerificationResult:
        """``XacThucThongTinCongDan``: do these data match the citizen's record?"""
        return self._send(
            self._core.person(
                "XacThucThongTinCongDan",
                ops.reads(VerificationResult),
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
                ops.gender_field(gender),
            )
        )

    def verify_identity(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> Citizen:
        """``XacMinhThongTinNhanThan``: the citizen's identity record, relatives included."""
        return self._send(
            self._core.person(
                "XacMinhThongTinNhanThan",
                ops.first_citizen,
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    def household(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> Household:
        """``CungCapThongTinHoGiaDinh``: the citizen's household, head and members."""
        return self._send(
            self._core.person(
                "CungCapThongTinHoGiaDinh",
                ops.reads(Household),
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    def marital_status(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> MaritalStatusResult:
        """``XacMinhTinhTrangHonNhan``: the citizen's recorded marital status."""
        return self._send(
            self._core.person(
                "XacMinhTinhTrangHonNhan",
                ops.reads(MaritalStatusResult),
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    def request_status(self, request_id: str) -> RequestStatus:
        """``GetRequestStatus``: where an earlier request (its ``MaYeuCau``) stands."""
        return self._send(ops.request_status(self._core.options, request_id=request_id))

    def close(self) -> None:
        self.http.close()


class AsyncCitizenClient(AsyncClosable):
    """The asyncio twin of :class:`CitizenClient`: same methods, same results."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        self._core = _Core(settings, request_id_factory)
        self.settings = self._core.settings
        client = build_async_client(
            self.settings, "citizens", transport=transport, auth=self._core.auth
        )
        self.http = AsyncHttpTransport(client, self.settings)
        self._runner = AsyncRunner(self.http)

    async def _send(self, call: Prepared[R]) -> R:
        return await self._runner.run(self._core.plan(call))

    async def lookup(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> Citizen:
        """``TraCuuThongTinCongDan`` (see :meth:`CitizenClient.lookup`)."""
        return await self._send(
            self._core.person(
                "TraCuuThongTinCongDan",
                ops.first_citizen,
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    async def verify(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        gender: str | Gender | None = None,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> VerificationResult:
        """``XacThucThongTinCongDan`` (see :meth:`CitizenClient.verify`)."""
        return await self._send(
            self._core.person(
                "XacThucThongTinCongDan",
                ops.reads(VerificationResult),
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
                ops.gender_field(gender),
            )
        )

    async def verify_identity(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> Citizen:
        """``XacMinhThongTinNhanThan`` (see :meth:`CitizenClient.verify_identity`)."""
        return await self._send(
            self._core.person(
                "XacMinhThongTinNhanThan",
                ops.first_citizen,
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    async def household(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> Household:
        """``CungCapThongTinHoGiaDinh`` (see :meth:`CitizenClient.household`)."""
        return await self._send(
            self._core.person(
                "CungCapThongTinHoGiaDinh",
                ops.reads(Household),
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    async def marital_status(
        self,
        id_number: str | None = None,
        full_name: str | None = None,
        birth_date: BirthDateInput | None = None,
        *,
        old_id_number: str | None = None,
        request_id: str | None = None,
    ) -> MaritalStatusResult:
        """``XacMinhTinhTrangHonNhan`` (see :meth:`CitizenClient.marital_status`)."""
        return await self._send(
            self._core.person(
                "XacMinhTinhTrangHonNhan",
                ops.reads(MaritalStatusResult),
                id_number,
                full_name,
                birth_date,
                old_id_number,
                request_id,
            )
        )

    async def request_status(self, request_id: str) -> RequestStatus:
        """``GetRequestStatus`` (see :meth:`CitizenClient.request_status`)."""
        return await self._send(ops.request_status(self._core.options, request_id=request_id))

    async def aclose(self) -> None:
        await self.http.aclose()
