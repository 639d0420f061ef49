"""Demo step: a citizen logs in through the mock identity provider (OIDC code flow).

Scripted, no browser: ``begin_login`` gives the authorization URL; the demo "is the
browser" and asks the mock to log a seeded citizen in headlessly
(``login_hint=<số định danh>&prompt=none``), reads the redirect back to the app's
callback without following it, and hands that URL to ``finish_login``. The verified
identity goes to ``demo.state["citizen"]`` for the later steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from govlink.demo import DemoContext

__all__ = ["run"]

_FALLBACK_CITIZEN = "001085000001"


def _pick_citizen(demo: DemoContext) -> str:
    """A seeded citizen with LoA2 if there is one (the demo should show a strong login)."""
    try:
        citizens = demo.admin.get("/seed/citizens").json()
    except Exception:  # the seed listing is a nicety; the default citizen always exists
        return _FALLBACK_CITIZEN
    if not isinstance(citizens, list) or not citizens:
        return _FALLBACK_CITIZEN
    strong = [c for c in citizens if isinstance(c, dict) and c.get("loa") == "LoA2"]
    chosen = (strong or citizens)[0]
    return str(chosen.get("so_dinh_danh") or _FALLBACK_CITIZEN)


def run(demo: DemoContext) -> None:
    import httpx
    from rich.table import Table

    from govlink.core.redact import mask_value
    from govlink.sso import CitizenIdentity, SsoClient

    out = demo.console
    citizen_id = _pick_citizen(demo)
    redirect_uri = f"{demo.mock_base_url}/demo/callback"
    with SsoClient(demo.settings) as sso:
        metadata = sso.discover()
        out.print(f"identity provider: {metadata.issuer} (endpoints from {metadata.source})")
        login = sso.begin_login(
            redirect_uri,
            acr_values="LoA2",
            extra={"login_hint": citizen_id, "prompt": "none"},
        )
        out.print(f"1. authorization URL built (state, nonce, PKCE S256): {login.url[:72]}…")
        with httpx.Client(trust_env=False, follow_redirects=False, timeout=10.0) as browser:
            reply = browser.get(login.url)
        callback = reply.headers.get("location", "")
        if reply.status_code != 302 or not callback.startswith(redirect_uri):
            raise RuntimeError(
                f"the mock did not redirect back to the callback (HTTP {reply.status_code})"
            )
        out.print(f"2. the provider redirected back to {redirect_uri}?code=…&state=…")
        result = sso.finish_login(callback, login.state)
        out.print(
            "3. code redeemed, ID token verified (signature, iss, aud, nonce, exp), "
            "userinfo fetched"
        )
        identity = result.identity
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("kind", "citizen" if identity.is_citizen else "organisation")
        if isinstance(identity, CitizenIdentity):
            table.add_row("họ và tên", str(mask_value(identity.full_name)))
            table.add_row("số định danh", str(mask_value(identity.id_number)))
            table.add_row("ngày sinh", str(mask_value(identity.birth_date)))
        table.add_row("level of assurance", str(identity.level_of_assurance or "-"))
        table.add_row("ID token expires in", f"{result.tokens.expires_in or '?'} s")
        out.print(table)
        info = sso.introspect(result.tokens.access_token)
        out.print(f"4. introspection: active={info.active}, client_id={info.client_id}")
        if result.tokens.id_token:
            out.print("5. logout URL: " + sso.logout_url(result.tokens.id_token)[:60] + "…")
    demo.state["citizen"] = identity
    demo.state["sso_login"] = result
