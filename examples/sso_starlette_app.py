"""A minimal ASGI (Starlette / FastAPI-style) portal that logs citizens in with govlink.

Run it against the local mock identity provider::

    govlink mock up                          # terminal 1 (port 8700)
    python examples/sso_starlette_app.py     # terminal 2, then open http://127.0.0.1:8765/

Against a real deployment, point the settings at it (``GOVLINK_PROFILE``/
``GOVLINK_PROFILE_FILE`` or ``GOVLINK_SSO__…`` variables) and set ``APP_SECRET_KEY``.

What a vendor copies from here:

* ``/login`` keeps the :class:`~govlink.sso.LoginState` in the (signed) session and
  redirects to the provider;
* ``/callback`` hands the full callback URL and that state to ``finish_login``, which
  checks ``state``, redeems the code, verifies the ID token and fetches userinfo;
* ``/logout`` clears the session and sends the browser to the provider's logout.

FastAPI works the same way (it is Starlette underneath): the routes become
``@app.get(...)`` functions and ``SessionMiddleware`` is added with ``app.add_middleware``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from html import escape

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from govlink.core.config import GovLinkSettings
from govlink.core.errors import GovLinkError
from govlink.core.redact import mask_value
from govlink.sso import AsyncSsoClient, CitizenIdentity, meets_level

SESSION_LOGIN = "sso_login"  # the LoginState between /login and /callback
SESSION_USER = "user"
Endpoint = Callable[[Request], Awaitable[Response]]


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        "<title>Cổng một cửa (demo)</title></head>"
        f"<body style='font-family:system-ui;max-width:640px;margin:40px auto'>{body}</body></html>"
    )


def create_app(
    settings: GovLinkSettings | None = None, *, secret_key: str | None = None
) -> Starlette:
    """The portal; ``settings`` default to the environment (the ``mock`` profile)."""
    sso = AsyncSsoClient(settings or GovLinkSettings.load())

    async def home(request: Request) -> Response:
        user = request.session.get(SESSION_USER)
        if not user:
            return _page(
                "<h1>Cổng một cửa (demo)</h1><p>Bạn chưa đăng nhập.</p>"
                "<p><a id='login' href='/login'>Đăng nhập bằng tài khoản định danh điện tử</a></p>"
            )
        return _page(
            "<h1>Cổng một cửa (demo)</h1>"
            f"<p id='welcome'>Xin chào <strong id='name'>{escape(user['name'])}</strong></p>"
            f"<p>Số định danh: <span id='id-number'>{escape(user['id'])}</span>, "
            f"mức đảm bảo <span id='loa'>{escape(user['loa'])}</span></p>"
            "<p><a id='logout' href='/logout'>Đăng xuất</a></p>"
        )

    async def login(request: Request) -> Response:
        # ?level=LoA2 asks the provider for that level; finish_login refuses a weaker one
        level = request.query_params.get("level")
        started = await sso.begin_login(str(request.url_for("callback")), acr_values=level)
        request.session[SESSION_LOGIN] = started.state.model_dump()
        return RedirectResponse(started.url, status_code=302)

    async def callback(request: Request) -> Response:
        saved = request.session.pop(SESSION_LOGIN, None)
        if saved is None:
            return _page("<p>Phiên đăng nhập không tồn tại. <a href='/login'>Thử lại</a></p>")
        try:
            result = await sso.finish_login(str(request.url), saved)
        except GovLinkError as exc:  # message and hint are safe to show (masked)
            return _page(f"<p id='error'>Đăng nhập thất bại: {escape(str(exc))}</p>")
        identity = result.identity
        if isinstance(identity, CitizenIdentity):
            name, number = identity.full_name, identity.id_number
        else:
            name, number = identity.name, identity.enterprise_code
        # keep only what the pages need; personal data stays masked even in the cookie
        request.session[SESSION_USER] = {
            "name": str(mask_value(name or identity.subject)),
            "id": str(mask_value(number or "")),
            "loa": identity.level_of_assurance or "-",
            "level": result.level,  # the signed acr: what route checks rely on
            "id_token": result.tokens.id_token,
        }
        return RedirectResponse("/", status_code=302)

    def requires_level(minimum: str) -> Callable[[Endpoint], Endpoint]:
        """A route that only logins at ``minimum`` (e.g. ``"LoA2"``) may open."""

        def decorate(endpoint: Endpoint) -> Endpoint:
            async def guarded(request: Request) -> Response:
                user = request.session.get(SESSION_USER)
                if not user:
                    return RedirectResponse(f"/login?level={minimum}", status_code=302)
                if not meets_level(user.get("level"), minimum):
                    page = _page(
                        f"<p id='too-weak'>Thủ tục này cần tài khoản mức {escape(minimum)}; "
                        f"bạn đăng nhập ở mức {escape(user.get('level') or '-')}. "
                        f"<a href='/login?level={escape(minimum)}'>Đăng nhập lại</a></p>"
                    )
                    page.status_code = 403
                    return page
                return await endpoint(request)

            return guarded

        return decorate

    @requires_level("LoA2")
    async def level_two_procedure(request: Request) -> Response:
        return _page("<p id='procedure'>Nộp hồ sơ (yêu cầu tài khoản định danh mức 2)</p>")

    async def logout(request: Request) -> Response:
        user = request.session.pop(SESSION_USER, None)
        request.session.clear()
        if not user or not user.get("id_token"):
            return RedirectResponse("/", status_code=302)
        target = await sso.logout_url(user["id_token"], str(request.url_for("home")))
        return RedirectResponse(target, status_code=302)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sso.aclose()

    key = secret_key or os.environ.get("APP_SECRET_KEY") or secrets.token_hex(32)
    return Starlette(
        routes=[
            Route("/", home, name="home"),
            Route("/login", login),
            Route("/callback", callback, name="callback"),
            Route("/logout", logout),
            Route("/thu-tuc-muc-2", level_two_procedure),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key=key, same_site="lax")],
        lifespan=lifespan,
    )


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8765")))
