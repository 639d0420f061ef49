"""Population-database options (``settings.citizens.options``), validated when settings load.

Read with ``CitizensOptions.of(settings)``. The caller context sent with every request
may be spelled in English (``service_code``), as on the wire (``MaDVC``) or in the
older snake case (``ma_dvc``): keys are matched ignoring case, ``_`` and ``-``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from govlink.core.auth import accept_auth_styles
from govlink.core.options import BlankIsNone, Lower, OptionsModel, OptionText, register_options

__all__ = ["DEFAULT_MAX_REPLY_BYTES", "CitizensOptions", "WireName"]

_Text = Annotated[OptionText | None, BlankIsNone]

WireName = Literal["soap", "gateway_json"]

DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024
"""A reply larger than this is refused while it is read (one record is a few KiB)."""


@register_options
class CitizensOptions(OptionsModel):
    platform = "citizens"

    service_code: _Text = Field(None, alias="MaDVC", description="the service code (MaDVC)")
    integration_code: _Text = Field(
        None, alias="MaTichHop", description="the integration code (MaTichHop)"
    )
    officer_code: _Text = Field(None, alias="MaCanBo", description="the officer's code (MaCanBo)")
    unit_code: _Text = Field(None, alias="MaDonVi", description="the unit code (MaDonVi)")
    account: _Text = Field(None, alias="TaiKhoan", description="the account name (TaiKhoan)")
    phone: _Text = Field(None, alias="SoDienThoai", description="a phone number (SoDienThoai)")
    transport: Annotated[WireName, Lower] = Field(
        "soap",
        description="soap, or gateway_json (a provincial gateway taking JSON and answering "
        "{error_code, message})",
    )
    max_reply_bytes: int = Field(
        DEFAULT_MAX_REPLY_BYTES, ge=1024, description="a whole number of bytes >= 1024"
    )

    def caller_context(self) -> dict[str, str]:
        """The set values by wire name (sent with every request)."""
        return {name: value for name, value in self.context_fields() if value}

    def context_fields(self) -> tuple[tuple[str, str | None], ...]:
        """The caller context as wire fields, in schema order (unset ones None)."""
        return (
            ("MaDVC", self.service_code),
            ("MaTichHop", self.integration_code),
            ("MaCanBo", self.officer_code),
            ("MaDonVi", self.unit_code),
            ("TaiKhoan", self.account),
            ("SoDienThoai", self.phone),
        )


# hashed_basic is the service's own; x_road, bearer and the gateway token styles are
# accepted as every platform's gateway styles (kind header/token).
accept_auth_styles("citizens", ("hashed_basic",))
