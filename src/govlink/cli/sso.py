"""``govlink sso``: check an identity provider's setup from the command line.

``discover`` shows where the endpoints come from (discovery or configuration) and
whether the signing keys can be fetched; ``login-url`` prints an authorization URL
(and, with ``--json``, the login state an app would keep) so an operator can try a
login in a browser without writing code.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    console,
    platform_client,
    print_result,
)

__all__ = ["app"]

app = typer.Typer(
    help="SSO (DVCQG / VNeID OpenID Connect): discovery, login URLs.", no_args_is_help=True
)


@app.command()
def discover(
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the provider's endpoints and signing keys."""
    from govlink.sso import SsoClient

    with platform_client(SsoClient, profile, profile_file) as sso:
        metadata = sso.discover()
        key_set = sso.signing_keys()
    data = {
        **metadata.model_dump(include=_ENDPOINTS | {"issuer", "source"}),
        "signing_keys": [{"kid": k.kid, "kty": k.kty} for k in key_set.keys],
    }
    print_result(data, json_output, lambda: _print_provider(data))


def _print_provider(data: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"Identity provider ({data['source']})", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for name in ("issuer", *sorted(_ENDPOINTS)):
        table.add_row(name, str(data[name]))
    table.add_row(
        "signing keys", ", ".join(f"{k['kid']} ({k['kty']})" for k in data["signing_keys"])
    )
    console().print(table)


_ENDPOINTS = {
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "introspection_endpoint",
    "revocation_endpoint",
    "end_session_endpoint",
}


@app.command("login-url")
def login_url(
    redirect_uri: Annotated[
        str, typer.Argument(help="Your app's callback URL, as registered with the provider.")
    ],
    acr_values: Annotated[
        str, typer.Option("--acr", help="Level of assurance to ask for (LoA1, LoA2).")
    ] = "LoA1",
    login_hint: Annotated[
        str | None,
        typer.Option(
            "--login-hint",
            help="Test identity for the mock's headless login (adds prompt=none).",
            show_default=False,
        ),
    ] = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print an authorization URL (state, nonce and PKCE made fresh)."""
    from govlink.sso import SsoClient

    extra = {"login_hint": login_hint, "prompt": "none"} if login_hint else None
    with platform_client(SsoClient, profile, profile_file) as sso:
        login = sso.begin_login(redirect_uri, acr_values=acr_values, extra=extra)
    print_result(
        {"url": login.url, "state": login.state.model_dump()},
        json_output,
        lambda: console().print(login.url, soft_wrap=True),
    )
