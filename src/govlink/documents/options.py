"""Document-axis options (``settings.documents.options``) and the axis HMAC style.

Validated when settings load; read with ``DocumentsOptions.of(settings)``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from govlink.core.auth import AuthContext, AuthStyle, accept_auth_styles, register_auth_style
from govlink.core.options import (
    BlankIsNone,
    Lower,
    OptionsModel,
    OptionText,
    PathList,
    register_options,
)

__all__ = ["DocumentsOptions"]

_Text = Annotated[OptionText | None, BlankIsNone]
_PEM = "the path of a PEM file"


@register_options
class DocumentsOptions(OptionsModel):
    platform = "documents"

    variant: Annotated[Literal["rest", "gateway"], Lower] = Field(
        "rest", description="rest (the axis API) or gateway (a provincial gateway)"
    )
    agency_code: _Text = Field(None, description="your agency code, e.g. 000.00.00.H47")
    signing_key: _Text = Field(None, description=_PEM)
    signing_cert: _Text = Field(None, description=_PEM)
    signing_key_password: _Text = Field(None, description="the key's password")
    signature_algorithm: OptionText = Field("rsa-sha256", description="e.g. rsa-sha256")
    c14n: OptionText = Field("c14n", description="c14n, exc-c14n or c14n11")
    signature_scope: Annotated[Literal["document", "envelope"], Lower] = Field(
        "document", description="document (whole package, default) or envelope"
    )
    allow_sha1: bool = Field(False, description="true or false")
    trust_store: Annotated[PathList | None, BlankIsNone] = Field(
        None, description="PEM files of the CAs that issue agency certificates"
    )
    pinned_certs: Annotated[PathList | None, BlankIsNone] = Field(
        None, description="PEM files of certificates trusted as they are"
    )
    max_package_mb: Annotated[float | None, BlankIsNone] = Field(
        None, gt=0, description="a size in MB > 0"
    )
    require_sender_match: bool = Field(True, description="true or false")


def _vdxp_hmac(ctx: AuthContext) -> None:
    ctx.client_id("the system id issued by the axis operator")
    ctx.secret("the HMAC secret issued by the axis operator (or env:NAME / file:PATH)")


register_auth_style(
    AuthStyle(
        "vdxp_hmac",
        "platform",
        _vdxp_hmac,
        ("client_id", "client_secret"),
        summary="document axis: XroadVnpt signed headers (HMAC-SHA256 with the system secret)",
        owner="documents",
    )
)
accept_auth_styles("documents", ("vdxp_hmac",))
