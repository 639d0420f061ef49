"""Population-database options (``settings.citizens.options``): the caller context.

Validated when settings load; read with ``CitizensOptions.of(settings)``. Keys may be
written as on the wire (``MaDVC``) or in snake case (``ma_dvc``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from govlink.core.auth import accept_auth_styles
from govlink.core.options import BlankIsNone, OptionsModel, OptionText, register_options

__all__ = ["CitizensOptions"]

_Text = Annotated[OptionText | None, BlankIsNone]


@register_options
class CitizensOptions(OptionsModel):
    platform = "citizens"

    ma_dvc: _Text = Field(None, alias="MaDVC", description="the service code (MaDVC)")
    ma_tich_hop: _Text = Field(None, alias="MaTichHop", description="the integration code")
    ma_can_bo: _Text = Field(None, alias="MaCanBo", description="the officer's code")
    ma_don_vi: _Text = Field(None, alias="MaDonVi", description="the unit code")
    tai_khoan: _Text = Field(None, alias="TaiKhoan", description="the account name")
    so_dien_thoai: _Text = Field(None, alias="SoDienThoai", description="a phone number")

    def caller_context(self) -> dict[str, str]:
        """The set values by wire name (sent with every request)."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v}


accept_auth_styles("citizens", ("hashed_basic",))
