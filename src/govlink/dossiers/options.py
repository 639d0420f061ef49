"""DVCQG dossier options (``settings.dossiers.options``) and the session auth style.

Validated when settings load; read with ``DossiersOptions.of(settings)``. The
``dvcqg_session`` style is registered here, from the platform's own package: the
session login travels in the JSON body, so the dossier client runs it itself; a
gateway in front of the portal goes in ``settings.dossiers.gateway``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from govlink.core.auth import AuthContext, AuthStyle, accept_auth_styles, register_auth_style
from govlink.core.options import BlankIsNone, Codes, OptionsModel, OptionText, register_options

__all__ = ["DossiersOptions"]

_WHOLE = "a whole number >= 1"
_CODES = "portal error codes: a list, or one comma-separated string such as 02,03"


@register_options
class DossiersOptions(OptionsModel):
    platform = "dossiers"

    chunk_size: int = Field(100, ge=1, description=_WHOLE)
    progress_chunk_size: int = Field(10, ge=1, description=_WHOLE)
    idempotency_field: OptionText = Field(
        "IdempotencyKey", description="the JSON field name of the key (empty: send none)"
    )
    portal_deduplicates: bool = Field(False, description="true or false")
    session_max_age: Annotated[int | None, BlankIsNone] = Field(
        1500, ge=1, description="whole seconds >= 1 before logging in again (empty: never)"
    )
    session_expired_codes: Codes | None = Field(None, description=_CODES)
    transient_codes: Codes | None = Field(None, description=_CODES)
    not_found_codes: Codes | None = Field(None, description=_CODES)
    madonvi: Annotated[OptionText | None, BlankIsNone] = Field(
        None, description="the unit code (prefer auth.extra.madonvi)"
    )
    create_or_update: bool = Field(
        True,
        description="true or false (re-send a create the portal has as an update, and back)",
    )
    blank_unset_fields: bool = Field(
        True, description='true or false (send "" for unset fields, like the public clients)'
    )
    share_services: Codes | None = Field(
        None, description="service names sent to paths.share: a list or comma-separated"
    )
    already_exists_codes: Codes | None = Field(None, description=_CODES)
    unknown_dossier_codes: Codes | None = Field(None, description=_CODES)
    already_exists_phrases: Codes | None = Field(
        None, description="reply messages meaning 'already exists', comma-separated"
    )


def _dvcqg_session(ctx: AuthContext) -> None:
    ctx.username("the integration account's user name")
    ctx.password()


register_auth_style(
    AuthStyle(
        "dvcqg_session",
        "platform",
        _dvcqg_session,
        ("username", "password", "extra.dstcode", "extra.madonvi"),
        authorization=False,
        summary="DVCQG session: POST /auth, then the session in every JSON body",
        owner="dossiers",
    )
)
accept_auth_styles("dossiers", ("dvcqg_session",), gateway_styles=False)
