"""The payment page a payer (or a tester, or a headless browser) sees at ``UrlThanhToan``."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from mock_servers.payments.receipt import format_vnd

__all__ = ["BANKS", "render_done", "render_page"]

BANKS: tuple[tuple[str, str], ...] = (
    ("VCB", "Vietcombank"),
    ("BIDV", "BIDV"),
    ("CTG", "VietinBank"),
    ("AGR", "Agribank"),
    ("NAPAS", "Thẻ nội địa NAPAS / Domestic card"),
)

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f5f9;
margin:0;color:#1c2433}
main{max-width:560px;margin:40px auto;background:#fff;border-radius:10px;padding:28px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 4px}p.sub{margin:0 0 20px;color:#5b6578}
dl{display:grid;grid-template-columns:11rem 1fr;gap:6px 12px;margin:0 0 20px}
dt{color:#5b6578}dd{margin:0;font-weight:600;overflow-wrap:break-word;word-break:normal;
hyphens:manual}
dd .code{overflow-wrap:anywhere}
.amount{font-size:1.5rem;color:#b3261e}
label{display:block;margin:0 0 16px}select{width:100%;padding:8px;margin-top:4px}
.buttons{display:flex;gap:10px;flex-wrap:wrap}
button{flex:1;padding:12px;border:0;border-radius:6px;font-size:1rem;cursor:pointer}
#pay{background:#1a7f37;color:#fff}#fail{background:#b3261e;color:#fff}
#cancel{background:#e4e7ec;color:#1c2433}
.note{margin-top:18px;font-size:.85rem;color:#5b6578}
.state{padding:10px 12px;border-radius:6px;background:#eef2ff;margin-bottom:16px}
"""


def _rows(tx: Mapping[str, Any]) -> str:
    receipt: Mapping[str, Any] = tx.get("receipt") or {}
    procedure = " - ".join(p for p in (receipt.get("MaTTHC"), receipt.get("TenTTHC")) if p)
    rows = [
        (
            "Số tiền / Amount",
            f'<span class="amount" id="amount">{escape(format_vnd(int(tx["amount"])))}</span>',
        ),
        (
            "Mã tham chiếu / Reference",
            f'<span class="code" id="reference">{escape(str(tx["reference"]))}</span>',
        ),
        ("Đối tác / Partner", escape(str(tx["partner"]))),
        ("Nội dung / Description", escape(str(tx.get("description") or ""))),
        ("Thủ tục / Procedure", escape(procedure)),
        ("Hồ sơ / Dossier", escape(str(receipt.get("MaHoSo") or ""))),
        ("Người nộp / Payer", escape(str(receipt.get("HoTenNguoiNop") or ""))),
    ]
    return "".join(f"<dt>{label}</dt><dd>{value or '-'}</dd>" for label, value in rows)


def render_page(tx: Mapping[str, Any], action_url: str) -> str:
    """The page with the three choices: pay, fail, cancel."""
    options = "".join(
        f'<option value="{escape(code)}">{escape(name)}</option>' for code, name in BANKS
    )
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Thanh toán trực tuyến / Online payment — {escape(str(tx["reference"]))}</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>Cổng thanh toán (mô phỏng) / Payment platform (mock)</h1>
<p class="sub">Nền tảng thanh toán DVCQG — govlink mock</p>
<dl>{_rows(tx)}</dl>
<form method="post" action="{escape(action_url)}" id="payment-form">
<label for="bank">Ngân hàng / Bank<select id="bank" name="bank">{options}</select></label>
<div class="buttons">
<button type="submit" id="pay" name="action" value="pay">Thanh toán / Pay</button>
<button type="submit" id="fail" name="action" value="fail">Thất bại / Fail</button>
<button type="submit" id="cancel" name="action" value="cancel">Huỷ / Cancel</button>
</div></form>
<p class="note">Đây là trang mô phỏng, không có tiền thật. /
This is a mock page: no real money moves.</p>
</main></body></html>"""


_STATE_TEXT = {
    "paid": "Đã thanh toán / Paid",
    "failed": "Thanh toán thất bại / Payment failed",
    "cancelled": "Đã huỷ / Cancelled",
    "pending": "Chờ thanh toán / Waiting for payment",
}


def render_done(tx: Mapping[str, Any]) -> str:
    """Where the browser lands when the vendor gave no return URL (or the payment is over)."""
    state = str(tx.get("status", "pending"))
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Kết quả thanh toán / Payment result — {escape(str(tx["reference"]))}</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>Kết quả thanh toán / Payment result</h1>
<div class="state" id="state" data-state="{escape(state)}">
{escape(_STATE_TEXT.get(state, state))}</div>
<dl>{_rows(tx)}<dt>Mã giao dịch / Transaction id</dt>
<dd id="transaction-id">{escape(str(tx.get("transaction_id") or "-"))}</dd></dl>
</main></body></html>"""
