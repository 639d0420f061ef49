"""Mock of the national identity provider (DVCQG / VNeID SSO, WSO2 style; PLATFORMS.md §1).

Endpoints under ``/sso``: ``/.well-known/openid-configuration`` (also under
``/oauth2/token/``, where WSO2 serves it), ``/oauth2/jwks``, ``/oauth2/authorize``
(login page at ``/authenticationendpoint/login.do``, consent at
``/authenticationendpoint/oauth2_consent.do``), ``/oauth2/token``
(``authorization_code`` and ``refresh_token``; ``client_secret_post``,
``client_secret_basic`` or ``private_key_jwt``), ``/oauth2/userinfo`` (GET or
POST, Bearer), ``/oauth2/introspect``, ``/oauth2/revoke``, ``/oidc/logout``.

ID tokens are RS256, ``iss`` = ``<base>/sso/oauth2/token`` as the caller reached it
(WSO2's default issuer is its token endpoint), ``aud`` = client id, with ``azp``,
``nonce``, ``sid``, ``acr`` and ``at_hash``. Codes are single-use and expire after
60 s of virtual time; a replayed code revokes the tokens it produced.

Headless login (CI): ``login_hint=<so_dinh_danh | ma_so_doanh_nghiep>&prompt=none``
on the authorize URL, or the header ``X-Mock-Login: <id>``, logs that test identity
in and redirects straight back with a code.

Switches (``POST /__admin/platforms/sso/switches``): ``deny_access``,
``bad_signature`` (true: a key not in the JWKS under the current ``kid``;
``"unknown_kid"``: its own ``kid``), ``wrong_alg`` (true/``"HS256"``: HMAC keyed
with the public key PEM; ``"none"``), ``expired_token``, ``wrong_nonce``,
``wrong_audience`` (true: another audience; ``"multiple"``: two audiences, no
``azp``), ``userinfo_500``, ``rotate_keys`` (true/``"keep"``: a new signing key,
the old one still listed; ``"drop"``: the old one removed), ``client_jwks`` (a JWKS,
or ``{client_id: JWKS}``, holding the public keys of ``private_key_jwt`` clients)
and ``allow_loopback_redirects`` (default on for ``govlink-demo``: any
``http://127.0.0.1:<port>/…`` or ``http://localhost:<port>/…`` redirect or
post-logout URI is accepted for that client; ``false`` turns it off, a list of
client ids chooses the clients).
"""

from __future__ import annotations

from mock_servers.sso.platform import SsoPlatform, create_platform

__all__ = ["SsoPlatform", "create_platform"]
