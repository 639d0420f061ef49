"""A minimal WSGI (Flask / Django-style) portal that logs citizens in with govlink.

Run it against the local mock identity provider::

    govlink mock up                       # terminal 1 (port 8700)
    python examples/sso_flask_app.py      # terminal 2, then open http://127.0.0.1:8000/

Against a real deployment, point the settings at it (``GOVLINK_PROFILE``/
``GOVLINK_PROFILE_FILE`` or ``GOVLINK_SSO__…`` variables) and set ``APP_SECRET_KEY``.

The flow is the same as in ``sso_starlette_app.py`` with the blocking
:class:`~govlink.sso.SsoClient`: ``/login`` stores the login state in the session,
``/callback`` finishes the login with it, ``/logout`` ends both sessions.
``/thu-tuc-muc-2`` is a procedure that needs a level-2 account: ``requires_level``
sends a weaker login back to the provider asking for ``LoA2``, and
``finish_login`` refuses a login weaker than what was asked. In Django,
the three views are the same functions with ``request.session`` and
``request.build_absolute_uri()``; create the ``SsoClient`` once per process.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from html import escape
from typing import Any

from flask import Flask, redirect, request, session, url_for
from werkzeug.wrappers import Response

from govlink.core.config import GovLinkSettings
from govlink.core.errors import GovLinkError
from govlink.core.redact import mask_value
from govlink.sso import CitizenIdentity, SsoClient, meets_level


def _page(body: str) -> str:
    return (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        "<title>Cổng một cửa (demo)</title></head>"
        f"<body style='font-family:system-ui;max-width:640px;margin:40px auto'>{body}</body></html>"
    )


def create_app(settings: GovLinkSettings | None = None, *, secret_key: str | None = None) -> Flask:
    """The portal; ``settings`` default to the environment (the ``mock`` profile)."""
    app = Flask(__name__)
    app.secret_key = secret_key or os.environ.get("APP_SECRET_KEY") or secrets.token_hex(32)
    sso = SsoClient(settings or GovLinkSettings.load())  # one per process: pooled, caches JWKS

    @app.get("/")
    def home() -> str:
        user = session.get("user")
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

    @app.get("/login")
    def login() -> Response:
        # ?level=LoA2 asks the provider for that level; finish_login refuses a weaker one
        level = request.args.get("level")
        started = sso.begin_login(url_for("callback", _external=True), acr_values=level)
        session["sso_login"] = started.state.model_dump()
        return redirect(started.url)

    @app.get("/callback")
    def callback() -> Response | str:
        saved = session.pop("sso_login", None)
        if saved is None:
            return _page("<p>Phiên đăng nhập không tồn tại. <a href='/login'>Thử lại</a></p>")
        try:
            result = sso.finish_login(request.url, saved)
        except GovLinkError as exc:  # message and hint are safe to show (masked)
            return _page(f"<p id='error'>Đăng nhập thất bại: {escape(str(exc))}</p>")
        identity = result.identity
        if isinstance(identity, CitizenIdentity):
            name, number = identity.full_name, identity.id_number
        else:
            name, number = identity.name, identity.enterprise_code
        session["user"] = {
            "name": str(mask_value(name or identity.subject)),
            "id": str(mask_value(number or "")),
            "loa": identity.level_of_assurance or "-",
            "level": result.level,  # the signed acr: what route checks rely on
            "id_token": result.tokens.id_token,
        }
        return redirect("/")

    def requires_level(minimum: str) -> Callable[[Callable[[], str]], Callable[[], Any]]:
        """A route that only logins at ``minimum`` (e.g. ``"LoA2"``) may open."""

        def decorate(view: Callable[[], str]) -> Callable[[], Any]:
            @functools.wraps(view)
            def guarded() -> Any:
                user = session.get("user")
                if not user:
                    return redirect(url_for("login", level=minimum))
                if not meets_level(user.get("level"), minimum):
                    return _page(
                        f"<p id='too-weak'>Thủ tục này cần tài khoản mức {escape(minimum)}; "
                        f"bạn đăng nhập ở mức {escape(user.get('level') or '-')}. "
                        f"<a href='/login?level={escape(minimum)}'>Đăng nhập lại</a></p>"
                    ), 403
                return view()

            return guarded

        return decorate

    @app.get("/thu-tuc-muc-2")
    @requires_level("LoA2")
    def level_two_procedure() -> str:
        return _page("<p id='procedure'>Nộp hồ sơ (yêu cầu tài khoản định danh mức 2)</p>")

    @app.get("/logout")
    def logout() -> Response:
        user = session.pop("user", None)
        session.clear()
        if not user or not user.get("id_token"):
            return redirect("/")
        return redirect(sso.logout_url(user["id_token"], url_for("home", _external=True)))

    return app


app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
