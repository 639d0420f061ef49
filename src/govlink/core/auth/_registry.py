"""The one registry of auth styles, and how settings resolve to them.

A *style* is registered once (:func:`register_auth_style`) with the factory that
builds it from settings and the settings it reads. A *platform* names the styles it
accepts (:func:`accept_auth_styles`). :func:`validate_auth` runs when
:class:`~govlink.core.config.GovLinkSettings` load, so an unknown style, a style the
platform cannot use, or a missing credential is a :class:`ConfigurationError` naming
the ``GOVLINK_…`` variable before any call is made.

A platform's own auth may sit behind a gateway's: ``settings.<platform>.gateway`` is a
second auth block (``GOVLINK_<PLATFORM>__GATEWAY__STYLE`` …) whose style must be a
gateway style. :func:`resolve_auth` returns both; :func:`auth_for` gives the one
``httpx.Auth`` to install on the platform's HTTP client (gateway header first, then
the platform's own per-request header when it has one).
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx

from govlink.core.config import PLATFORMS, AuthSettings, resolve_reference
from govlink.core.errors import ConfigurationError

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings

__all__ = [
    "AuthContext",
    "AuthStyle",
    "ResolvedAuth",
    "accept_auth_styles",
    "accepted_auth_styles",
    "auth_for",
    "auth_style",
    "auth_styles",
    "chain_auth",
    "extra_value",
    "register_auth_style",
    "resolve_auth",
    "validate_auth",
]

StyleKind = Literal["none", "token", "header", "platform"]
"""``token``: fetches a token from a gateway; ``header``: computed per request, no
exchange; ``platform``: implemented by the platform client (SSO client auth, DVCQG
session, document-axis HMAC), which reads its settings itself."""


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def extra_value(block: AuthSettings, name: str) -> str | None:
    """``block.extra[name]`` matched loosely (environment variables arrive lower-cased,
    TOML keeps ``AppName``); None when absent or empty."""
    wanted = _norm(name)
    for key, value in block.extra.items():
        if _norm(key) == wanted and value != "":
            return value
    return None


@dataclass(frozen=True)
class AuthContext:
    """What a style factory gets: one auth block, where it sits, and helpers that turn
    a missing value into a :class:`ConfigurationError` naming its variable."""

    settings: GovLinkSettings
    platform: str
    block: AuthSettings
    prefix: str  # e.g. "GOVLINK_DOSSIERS__GATEWAY__"

    @property
    def style(self) -> str:
        return self.block.style.strip().lower()

    def missing(self, name: str, expected: str) -> ConfigurationError:
        return ConfigurationError(
            f"auth style {self.style!r} for {self.platform} needs {name.lower()}",
            setting=self.prefix + name,
            expected=expected,
        )

    def need(self, value: str | None, name: str, expected: str) -> str:
        if not value:
            raise self.missing(name, expected)
        return value

    def extra_value(self, name: str) -> str | None:
        """``extra[name]`` matched loosely (environment variables arrive lower-cased),
        with ``env:``/``file:`` references resolved."""
        value = extra_value(self.block, name)
        if value is None:
            return None
        return resolve_reference(value, setting=f"{self.prefix}EXTRA__{name.upper()}")

    def need_extra(self, name: str, expected: str) -> str:
        return self.need(self.extra_value(name), f"EXTRA__{name.upper()}", expected)

    def client_id(self, expected: str) -> str:
        return self.need(self.block.client_id, "CLIENT_ID", expected)

    def username(self, expected: str) -> str:
        return self.need(self.block.username, "USERNAME", expected)

    def secret(self, expected: str = "the secret, or env:NAME / file:PATH") -> str:
        value = self.block.client_secret.get_secret_value() if self.block.client_secret else None
        return self.need(value, "CLIENT_SECRET", expected)

    def password(self, expected: str = "the password, or env:NAME / file:PATH") -> str:
        value = self.block.password.get_secret_value() if self.block.password else None
        return self.need(value, "PASSWORD", expected)

    def token_url(self) -> str:
        """``token_url``, else ``{gateway.base_url}/token`` of the shared gateway section."""
        if self.block.token_url:
            return self.block.token_url
        gateway = self.settings.gateway.base_url
        if gateway:
            return f"{gateway}/token"
        raise self.missing("TOKEN_URL", "the gateway's token URL, e.g. https://lgsp.example/token")


@dataclass(frozen=True)
class AuthStyle:
    """One auth style: its name, kind, factory and the settings it reads.

    ``build`` returns an ``httpx.Auth`` for ``token``/``header`` styles; for
    ``platform`` styles it checks the settings and returns what the platform client
    uses (or None). ``settings`` lists the fields read, for docs and error messages.
    ``authorization`` says whether the style writes the ``Authorization`` header (two
    such styles cannot be stacked behind one another).
    """

    name: str
    kind: StyleKind
    build: Callable[[AuthContext], Any]
    settings: tuple[str, ...] = ()
    authorization: bool = True
    summary: str = ""
    owner: str = "core"


_STYLES: dict[str, AuthStyle] = {}
_ACCEPTED: dict[str, tuple[frozenset[str], bool]] = {}
GATEWAY_SECTION = "gateway"


def register_auth_style(style: AuthStyle) -> AuthStyle:
    """Add ``style`` to the registry (once; a second, different registration is an error)."""
    known = _STYLES.get(style.name)
    if known is not None and known != style:
        raise ValueError(f"auth style {style.name!r} is already registered by {known.owner}")
    _STYLES[style.name] = style
    return style


register_auth_style(
    AuthStyle("none", "none", lambda ctx: None, authorization=False, summary="no auth")
)


def accept_auth_styles(
    platform: str, styles: Iterable[str] = (), *, gateway_styles: bool = True
) -> None:
    """Declare which styles ``platform`` can use: ``none``, ``styles``, and every style of
    kind ``token``/``header`` when ``gateway_styles`` (so a new gateway style needs no
    change in any platform)."""
    _ACCEPTED[platform] = (frozenset(styles) | {"none"}, gateway_styles)


def auth_style(name: str) -> AuthStyle | None:
    return _STYLES.get(name.strip().lower())


def auth_styles() -> dict[str, AuthStyle]:
    """Every registered style by name (after the platforms' modules registered theirs)."""
    _load_platform_modules()
    return dict(sorted(_STYLES.items()))


def _gateway_style(style: AuthStyle) -> bool:
    return style.kind in ("token", "header")


def accepted_auth_styles(platform: str, *, block: str = "auth") -> tuple[str, ...]:
    """The style names ``platform`` accepts in its ``auth`` (or ``gateway``) block."""
    _load_platform_modules()
    if block == "gateway" or platform == GATEWAY_SECTION:
        names = {n for n, s in _STYLES.items() if _gateway_style(s)} | {"none"}
        return tuple(sorted(names))
    own, gateways = _ACCEPTED.get(platform, (frozenset({"none"}), True))
    names = {n for n in own if n in _STYLES}
    if gateways:
        names |= {n for n, s in _STYLES.items() if _gateway_style(s)}
    return tuple(sorted(names))


def _load_platform_modules() -> None:
    """Import each platform's settings module, where it registers its options model,
    the styles it accepts and its own styles."""
    from govlink.core.options import load_platform_modules

    load_platform_modules()


def _context(settings: GovLinkSettings, platform: str, block: str) -> AuthContext:
    section = getattr(settings, platform)
    name = platform.upper()
    if block == "gateway":
        return AuthContext(settings, platform, section.gateway, f"GOVLINK_{name}__GATEWAY__")
    return AuthContext(settings, platform, section.auth, f"GOVLINK_{name}__AUTH__")


def _checked_style(settings: GovLinkSettings, platform: str, block: str) -> AuthStyle:
    ctx = _context(settings, platform, block)
    accepted = accepted_auth_styles(platform, block=block)
    style = _STYLES.get(ctx.style)
    if style is None or ctx.style not in accepted:
        close = difflib.get_close_matches(ctx.style, accepted, n=1)
        where = f"{platform}'s gateway" if block == "gateway" else platform
        if style is None:
            message = f"unknown auth style {ctx.block.style!r} for {where}"
        else:
            message = f"auth style {ctx.block.style!r} is not usable for {where}"
        if close:
            message += f" (did you mean {close[0]!r}?)"
        elif style is not None and _gateway_style(style) and platform != GATEWAY_SECTION:
            message += f" (a gateway in front of it goes in GOVLINK_{platform.upper()}__GATEWAY__…)"
        raise ConfigurationError(
            message, setting=f"{ctx.prefix}STYLE", expected="one of " + ", ".join(accepted)
        )
    return style


def _platforms() -> tuple[str, ...]:
    return (*PLATFORMS, GATEWAY_SECTION)


def _check_platform(name: str) -> None:
    if name not in _platforms():
        raise ConfigurationError(
            f"unknown platform {name!r}", setting="platform", expected=", ".join(_platforms())
        )


@dataclass(frozen=True)
class ResolvedAuth:
    """A platform's auth: its own style's product and the gateway's in front of it."""

    style: str
    own: Any = None
    gateway: httpx.Auth | None = None
    gateway_style: str | None = None

    @property
    def http_auth(self) -> httpx.Auth | None:
        """The ``httpx.Auth`` to install on the platform's client (None: none needed)."""
        own = self.own if isinstance(self.own, httpx.Auth) else None
        if self.gateway is None:
            return own
        return self.gateway if own is None else chain_auth(self.gateway, own)


def _build(style: AuthStyle, ctx: AuthContext) -> Any:
    """Run a factory; a strategy's own ``ValueError`` becomes a ConfigurationError that
    names the block (pydantic would otherwise report it against no variable)."""
    try:
        return style.build(ctx)
    except ValueError as exc:
        raise ConfigurationError(
            f"auth style {style.name!r} for {ctx.platform}: {exc}",
            setting=f"{ctx.prefix}STYLE",
            expected="the settings listed for this style in docs/configuration.md",
        ) from None


def resolve_auth(settings: GovLinkSettings, platform: str) -> ResolvedAuth:
    """Build ``platform``'s auth (and its gateway's, when it has a ``gateway`` block)."""
    _check_platform(platform)
    own_style = _checked_style(settings, platform, "auth")
    own = _build(own_style, _context(settings, platform, "auth"))
    gateway: httpx.Auth | None = None
    gateway_name: str | None = None
    block = getattr(settings, platform).gateway if platform != GATEWAY_SECTION else None
    if block is not None and block.style.strip().lower() != "none":
        gateway_style = _checked_style(settings, platform, "gateway")
        gateway_name = gateway_style.name
        if own_style.kind == "token" or (
            own_style.kind == "header" and gateway_style.authorization and own_style.authorization
        ):
            raise ConfigurationError(
                f"{platform}'s auth style {own_style.name!r} cannot sit behind the gateway "
                f"style {gateway_style.name!r}: both write the Authorization header",
                setting=f"GOVLINK_{platform.upper()}__AUTH__STYLE",
                expected="a style carried outside the Authorization header (e.g. a platform "
                "session, x_road), or no gateway block",
            )
        gateway = _build(gateway_style, _context(settings, platform, "gateway"))
    return ResolvedAuth(own_style.name, own, gateway, gateway_name)


def auth_for(settings: GovLinkSettings, platform: str) -> httpx.Auth | None:
    """The ``httpx.Auth`` for ``platform`` (None: no header auth; a platform style
    the client implements itself, or ``none``, without a gateway block)."""
    return resolve_auth(settings, platform).http_auth


def validate_auth(settings: GovLinkSettings) -> None:
    """Check every auth block of ``settings`` (called when settings load).

    Style names are checked for every platform; credentials are checked (by building
    the style) for platforms with a base URL, and for the shared ``gateway`` section
    when it names a style.
    """
    _load_platform_modules()
    for platform in _platforms():
        section = getattr(settings, platform)
        _checked_style(settings, platform, "auth")
        block = getattr(section, "gateway", None)
        if block is not None and platform == GATEWAY_SECTION:
            raise ConfigurationError(
                "the shared gateway section cannot itself sit behind a gateway",
                setting="GOVLINK_GATEWAY__GATEWAY__STYLE",
                expected="nothing: put the gateway's credentials in GOVLINK_GATEWAY__AUTH__…",
            )
        if block is not None:
            _checked_style(settings, platform, "gateway")
        in_use = section.base_url is not None or (
            platform == GATEWAY_SECTION and section.auth.style.strip().lower() != "none"
        )
        if in_use:
            resolve_auth(settings, platform)


# ------------------------------------------------------------------ stacking


class _ChainedAuth(httpx.Auth):
    """``inner`` (a per-request header style) then ``outer`` (the gateway's flow)."""

    def __init__(self, outer: httpx.Auth, inner: httpx.Auth) -> None:
        self.outer = outer
        self.inner = inner

    def _prepare(self, request: httpx.Request) -> httpx.Request:
        flow = self.inner.auth_flow(request)
        return next(flow)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        return self.outer.sync_auth_flow(self._prepare(request))

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.outer.async_auth_flow(self._prepare(request))
        response: httpx.Response | None = None
        try:
            while True:
                outgoing = await (anext(flow) if response is None else flow.asend(response))
                response = yield outgoing
        except StopAsyncIteration:
            return


def chain_auth(outer: httpx.Auth, inner: httpx.Auth) -> httpx.Auth:
    """One ``httpx.Auth`` that applies ``inner``'s per-request headers, then runs
    ``outer`` (a gateway token flow, with its refresh-and-replay on 401).

    ``inner`` must be a single-step style (it adds headers and sends once)."""
    return _ChainedAuth(outer, inner)
