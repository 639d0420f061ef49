"""Payment platform options (``settings.payments.options``).

Validated when settings load; read with ``PaymentsOptions.of(settings)``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from govlink.core.auth import accept_auth_styles
from govlink.core.options import BlankIsNone, Lower, OptionsModel, OptionText, register_options

__all__ = ["PaymentsOptions"]

_TEXT = "text"
_URL = "an http(s) URL"


@register_options
class PaymentsOptions(OptionsModel):
    platform = "payments"

    profile: Annotated[Literal["dvcqg", "legacy"], Lower] = Field(
        "dvcqg", description="dvcqg or legacy"
    )
    partner_code: Annotated[OptionText | None, BlankIsNone] = Field(
        None, description="the MaDoiTac (default: auth.client_id)"
    )
    secret: Annotated[OptionText | None, BlankIsNone] = Field(
        None,
        description="the partner secret, or env:NAME / file:PATH (default: auth.client_secret)",
    )
    callback_url: Annotated[OptionText | None, BlankIsNone] = Field(None, description=_URL)
    return_url: Annotated[OptionText | None, BlankIsNone] = Field(None, description=_URL)
    callback_url_field: OptionText = Field("UrlCallback", description=_TEXT)
    return_url_field: OptionText = Field("UrlReturn", description=_TEXT)
    channel_code: OptionText = Field("1", description=_TEXT)
    device_code: OptionText = Field("1", description=_TEXT)
    bank_code: OptionText = Field("", description=_TEXT)
    ip: OptionText = Field("127.0.0.1", description="the payer's IP address")
    verify_replies: bool = Field(True, description="true or false")
    callback_key: Annotated[OptionText | None, BlankIsNone] = Field(
        None, description="the legacy profile's second key, or env:NAME / file:PATH"
    )
    callback_tolerance_seconds: Annotated[float | None, BlankIsNone] = Field(
        86400.0, ge=0, description="a number of seconds >= 0 (0 or empty: no time check)"
    )
    callback_message_type: OptionText = Field(
        "CONFIRM", description="the LoaiBanTin of the platform's callbacks"
    )
    reply_checksum: Annotated[Literal["echo", "own"], Lower] = Field(
        "echo",
        description="echo (answer a callback with its own MaXacThuc) or own (hash the reply)",
    )
    legacy_detail_command: OptionText = Field(
        "DETAIL", description="the legacy profile's command for the detail query"
    )


accept_auth_styles("payments")
