"""HTML of the mock provider: login, consent, logout and error pages.

Plain server-rendered HTML with stable ``id``/``data-testid`` attributes, so a
tester can click through it and a browser test can drive it. Every value shown is
escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from mock_servers.sso.identities import Identity

__all__ = ["consent_page", "error_page", "logged_out_page", "login_page"]

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f6f9;
margin:0;color:#1f2933}
header{background:#b71c1c;color:#fff;padding:14px 24px}
header h1{font-size:18px;margin:0}
header p{margin:4px 0 0;font-size:13px;opacity:.9}
main{max-width:760px;margin:24px auto;background:#fff;border-radius:8px;padding:24px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h2{font-size:16px;margin:20px 0 8px}
.who{display:block;width:100%;text-align:left;margin:6px 0;padding:10px 12px;border:1px solid
#cbd2d9;border-radius:6px;background:#fff;cursor:pointer;font-size:14px}
.who:hover{border-color:#b71c1c;background:#fff5f5}
.who small{color:#616e7c}
label{display:block;font-size:13px;margin:8px 0 2px}
input,select{width:100%;padding:7px;border:1px solid #cbd2d9;border-radius:4px;
box-sizing:border-box}
.btn{padding:9px 18px;border-radius:6px;border:0;font-size:14px;cursor:pointer;margin-right:8px}
.primary{background:#b71c1c;color:#fff}.secondary{background:#e4e7eb}
.note{font-size:12px;color:#616e7c;margin-top:20px}
code{background:#f0f2f5;padding:1px 4px;border-radius:3px}
.error{color:#b71c1c}
"""


def _page(title: str, body: str, *, status_note: str = "") -> str:
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)}</title><style>{_STYLE}</style></head>
<body><header><h1>Cổng Dịch vụ công quốc gia — Tài khoản định danh (MOCK)</h1>
<p>govlink mock identity provider · test data only{escape(status_note)}</p></header>
<main>{body}</main></body></html>"""


def _identity_button(identity: Identity) -> str:
    key = escape(identity.key)
    if identity.kind == "organisation":
        detail = f"Tổ chức · MST {key}"
    else:
        loa = escape(str(identity.record.get("loa") or ""))
        detail = f"Công dân · {key}" + (f" · {loa}" if loa else "")
    return (
        f'<button class="who" type="submit" name="identity" value="{key}" '
        f'data-testid="identity-{key}"><strong>{escape(identity.label)}</strong><br>'
        f"<small>{detail}</small></button>"
    )


def login_page(
    *,
    action: str,
    session_key: str,
    client_name: str,
    acr_values: str | None,
    identities: list[Identity],
    login_hint: str | None,
    error: str | None = None,
) -> str:
    citizens = [i for i in identities if i.kind == "citizen"]
    organisations = [i for i in identities if i.kind == "organisation"]
    hidden = f'<input type="hidden" name="sessionDataKey" value="{escape(session_key)}">'
    listing = "".join(_identity_button(i) for i in citizens) or "<p>(no seeded citizens)</p>"
    org_listing = "".join(_identity_button(i) for i in organisations) or "<p>(none)</p>"
    problem = f'<p class="error" id="login-error">{escape(error)}</p>' if error else ""
    hint = escape(login_hint or "")
    return _page(
        "Đăng nhập",
        f"""
<p>Ứng dụng <strong id="client-name">{escape(client_name)}</strong> yêu cầu đăng nhập
(mức đảm bảo <code>{escape(acr_values or "LoA1")}</code>).</p>{problem}
<form method="post" action="{escape(action)}" id="pick-form">{hidden}
<h2>Công dân (citizens)</h2>{listing}
<h2>Tổ chức, doanh nghiệp (organisations)</h2>{org_listing}
</form>
<h2>Danh tính tùy chỉnh (custom identity)</h2>
<form method="post" action="{escape(action)}" id="custom-form">{hidden}
<input type="hidden" name="custom" value="1">
<label for="loai">Loại tài khoản</label>
<select id="loai" name="loai"><option value="citizen">Công dân (1)</option>
<option value="organisation">Tổ chức (2)</option></select>
<label for="so_dinh_danh">Số định danh cá nhân (12 chữ số)</label>
<input id="so_dinh_danh" name="so_dinh_danh" value="{hint}" inputmode="numeric">
<label for="ho_va_ten">Họ và tên</label><input id="ho_va_ten" name="ho_va_ten">
<label for="ngay_sinh">Ngày sinh (yyyy-mm-dd)</label><input id="ngay_sinh" name="ngay_sinh">
<label for="gioi_tinh">Giới tính</label>
<select id="gioi_tinh" name="gioi_tinh"><option>Nam</option><option>Nữ</option></select>
<label for="ma_so_doanh_nghiep">Mã số doanh nghiệp (tổ chức)</label>
<input id="ma_so_doanh_nghiep" name="ma_so_doanh_nghiep">
<label for="ten_doanh_nghiep">Tên doanh nghiệp (tổ chức)</label>
<input id="ten_doanh_nghiep" name="ten_doanh_nghiep">
<p><button class="btn primary" type="submit" id="custom-login">Đăng nhập</button></p>
</form>
<p class="note">Headless CI: add <code>login_hint=&lt;số định danh or mã số doanh
nghiệp&gt;&amp;prompt=none</code> to the authorize URL, or send the header
<code>X-Mock-Login: &lt;id&gt;</code>, to skip this page.</p>""",
    )


def consent_page(
    *,
    action: str,
    session_key: str,
    client_name: str,
    identity: Identity,
    scope: str,
) -> str:
    hidden = f'<input type="hidden" name="sessionDataKeyConsent" value="{escape(session_key)}">'
    return _page(
        "Xác nhận chia sẻ thông tin",
        f"""
<p>Bạn đang đăng nhập với tài khoản <strong id="who">{escape(identity.label)}</strong>.</p>
<p>Ứng dụng <strong>{escape(client_name)}</strong> muốn truy cập thông tin định danh của bạn
(phạm vi <code>{escape(scope)}</code>): họ tên, số định danh, ngày sinh, địa chỉ, mức đảm bảo.</p>
<form method="post" action="{escape(action)}" id="consent-form">{hidden}
<button class="btn primary" type="submit" name="consent" value="approve" id="approve">
Đồng ý</button>
<button class="btn secondary" type="submit" name="consent" value="deny" id="deny">
Từ chối</button>
</form>""",
    )


def logged_out_page() -> str:
    return _page("Đã đăng xuất", '<h2 id="logged-out">Bạn đã đăng xuất (you are logged out).</h2>')


def error_page(error: str, description: str, **details: Any) -> str:
    extra = "".join(
        f"<li>{escape(str(k))}: <code>{escape(str(v))}</code></li>" for k, v in details.items()
    )
    return _page(
        "Lỗi xác thực",
        f"""<h2 class="error" id="oauth-error">{escape(error)}</h2>
<p id="oauth-error-description">{escape(description)}</p>{f"<ul>{extra}</ul>" if extra else ""}
<p class="note">The mock could not send you back to the application, because the
request did not identify a registered client and callback URL.</p>""",
    )
