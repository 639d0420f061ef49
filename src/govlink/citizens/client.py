"""Thin sync and async clients for the population database (PLATFORMS.md §4).

Each method asks :class:`~govlink.citizens.service.CitizenService` what to send,
sends it through :mod:`govlink.core.soap` (zeep over govlink's HTTP: retries,
correlation ids, evidence, masked logs) and hands the reply back to the service to
read. The gateway auth comes from the profile (``settings.citizens.auth.style``:
``hashed_basic``, ``x_road``, ``client_credentials_basic``/``_form``, ``bearer``…) via
:func:`govlink.core.auth.auth_for`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from govlink.citizens.codec import map_fault
from govlink.citizens.models import Citizen, Gender, VerificationResult
from govlink.citizens.options import CitizensOptions
from govlink.citizens.service import DEFAULT_SERVICE_PATH, WSDL_PATH, CitizenService
from govlink.core.auth import auth_for
from govlink.core.config import GovLinkSettings, PlatformSettings
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    build_async_client,
    build_client,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.core.soap import (
    AsyncSoapClient,
    SoapClient,
    load_wsdl,
)

__all__ = ["AsyncCitizenClient", "CitizenClient", "service_address"]

BirthDateInput = dt.date | str | int
"""``date``, ``"YYYY-MM-DD"``, ``"YYYYMMDD"``, ``"YYYY"`` or an int year."""


def service_address(platform: PlatformSettings) -> str:
    """The SOAP endpoint: ``base_url`` + ``paths.service`` (an absolute URL wins)."""
    path = platform.paths.get("service", DEFAULT_SERVICE_PATH)
    if path.startswith(("http://", "https://")):
        return path
    return f"{platform.base_url}{path if path.startswith('/') else '/' + path}"


class _Base:
    def __init__(
        self,
        settings: GovLinkSettings | None,
        request_id_factory: Callable[[], str] | None,
    ) -> None:
        self.settings = settings or GovLinkSettings.load()
        self.platform = self.settings.platform("citizens")
        self.address = service_address(self.platform)
        self.service = CitizenService(
            CitizensOptions.of(self.settings).caller_context(),
            request_id_factory=request_id_factory,
        )
        self._auth = auth_for(self.settings, "citizens")
        self._wsdl: Any = load_wsdl(WSDL_PATH)


class CitizenClient(_Base, Closable):
    """Look up and verify citizens (synchronous).

    ``with CitizenClient(settings) as client: client.lookup(so_dinh_danh="001085000001",
    ho_ten="Nguyễn Văn An", ngay_sinh="1985-03-12")``
    """

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(settings, request_id_factory)
        client = build_client(self.settings, "citizens", transport=transport, auth=self._auth)
        self.http = HttpTransport(client, self.settings)
        self.soap = SoapClient(self._wsdl, self.http, address=self.address, fault_mapper=map_fault)

    def lookup(
        self,
        so_dinh_danh: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: BirthDateInput | None = None,
        *,
        so_cmnd: str | None = None,
        request_id: str | None = None,
    ) -> Citizen:
        """``TraCuuThongTinCongDan``: the record of the citizen with this ID, name and
        birth date (full date or year only).

        Raises :class:`~govlink.core.errors.ValidationError` before sending,
        :class:`~govlink.core.errors.NotFoundError` when no record matches,
        :class:`~govlink.core.errors.AuthenticationError` when the credentials are refused
        and :class:`~govlink.core.errors.PlatformError` for other faults.
        """
        call = self.service.lookup_request(
            so_dinh_danh=so_dinh_danh,
            so_cmnd=so_cmnd,
            ho_ten=ho_ten,
            ngay_sinh=ngay_sinh,
            request_id=request_id,
        )
        result = self.soap.call(call.operation, safe=call.safe, **call.params)
        return self.service.lookup_result(call, result)

    def verify(
        self,
        so_dinh_danh: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: BirthDateInput | None = None,
        *,
        gioi_tinh: str | Gender | None = None,
        so_cmnd: str | None = None,
        request_id: str | None = None,
    ) -> VerificationResult:
        """``XacThucThongTinCongDan``: do these data match the citizen's record?"""
        call = self.service.verify_request(
            so_dinh_danh=so_dinh_danh,
            so_cmnd=so_cmnd,
            ho_ten=ho_ten,
            ngay_sinh=ngay_sinh,
            gioi_tinh=gioi_tinh,
            request_id=request_id,
        )
        result = self.soap.call(call.operation, safe=call.safe, **call.params)
        return self.service.verify_result(call, result)

    def close(self) -> None:
        self.http.close()


class AsyncCitizenClient(_Base, AsyncClosable):
    """Look up and verify citizens (asyncio); same methods as :class:`CitizenClient`."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(settings, request_id_factory)
        client = build_async_client(self.settings, "citizens", transport=transport, auth=self._auth)
        self.http = AsyncHttpTransport(client, self.settings)
        self.soap = AsyncSoapClient(
            self._wsdl, self.http, address=self.address, fault_mapper=map_fault
        )

    async def lookup(
        self,
        so_dinh_danh: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: BirthDateInput | None = None,
        *,
        so_cmnd: str | None = None,
        request_id: str | None = None,
    ) -> Citizen:
        """``TraCuuThongTinCongDan`` (see :meth:`CitizenClient.lookup`)."""
        call = self.service.lookup_request(
            so_dinh_danh=so_dinh_danh,
            so_cmnd=so_cmnd,
            ho_ten=ho_ten,
            ngay_sinh=ngay_sinh,
            request_id=request_id,
        )
        result = await self.soap.call(call.operation, safe=call.safe, **call.params)
        return self.service.lookup_result(call, result)

    async def verify(
        self,
        so_dinh_danh: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: BirthDateInput | None = None,
        *,
        gioi_tinh: str | Gender | None = None,
        so_cmnd: str | None = None,
        request_id: str | None = None,
    ) -> VerificationResult:
        """``XacThucThongTinCongDan`` (see :meth:`CitizenClient.verify`)."""
        call = self.service.verify_request(
            so_dinh_danh=so_dinh_danh,
            so_cmnd=so_cmnd,
            ho_ten=ho_ten,
            ngay_sinh=ngay_sinh,
            gioi_tinh=gioi_tinh,
            request_id=request_id,
        )
        result = await self.soap.call(call.operation, safe=call.safe, **call.params)
        return self.service.verify_result(call, result)

    async def aclose(self) -> None:
        await self.http.aclose()
