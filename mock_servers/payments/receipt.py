"""The e-receipt PDF that ``GET_BILL`` returns (made with fpdf2).

Vietnamese needs a Unicode TrueType font. DejaVu Sans from Debian's
``fonts-dejavu-core`` is used when it is installed (``.ci/system-deps.sh`` installs
it); without it the text is folded to ASCII ("Nguyễn" → "Nguyen") and the receipt
says so, so the mock still works on a bare machine.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["FONT_DIRS", "find_font", "fold_text", "format_vnd", "render_receipt"]

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)


def find_font() -> tuple[Path, Path | None] | None:
    """(regular, bold) DejaVu Sans files, or None. ``GOVLINK_RECEIPT_FONT`` overrides."""
    override = os.environ.get("GOVLINK_RECEIPT_FONT")
    if override:
        path = Path(override)
        return (path, None) if path.is_file() else None
    for directory in FONT_DIRS:
        regular = directory / "DejaVuSans.ttf"
        if regular.is_file():
            bold = directory / "DejaVuSans-Bold.ttf"
            return regular, bold if bold.is_file() else None
    return None


def fold_text(text: str) -> str:
    """ASCII rendering of Vietnamese text, for the font-less fallback."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c))
        .encode("ascii", "replace")
        .decode("ascii")
    )


# LoaiPhiLePhi codes (public clients send "Phi" and "LePhi") and what a receipt prints.
FEE_KINDS = {"phi": "Phí", "lephi": "Lệ phí"}


def fee_name(line: Mapping[str, Any]) -> str:
    """A fee line's printed name: TenPhiLePhi, else the kind's name, never a bare code."""
    name = str(line.get("TenPhiLePhi") or "").strip()
    if name:
        return name
    kind = str(line.get("LoaiPhiLePhi") or "").strip()
    return FEE_KINDS.get(kind.lower(), kind)


def format_vnd(amount: int) -> str:
    """``150000`` → ``150.000 VND`` (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".") + " VND"


def render_receipt(tx: Mapping[str, Any], issued_at: datetime) -> bytes:
    """One A4 page: payer, amount, procedure, dossier, transaction id, dates, fee lines."""
    from fpdf import FPDF

    receipt: Mapping[str, Any] = tx.get("receipt") or {}
    font = find_font()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    if font is not None:
        regular, bold = font
        pdf.add_font("Receipt", "", str(regular))
        pdf.add_font("Receipt", "B", str(bold or regular))
        family = "Receipt"

        def text(value: str) -> str:
            return value

    else:
        family = "Helvetica"

        def text(value: str) -> str:
            return fold_text(value)

    pdf.set_title(text(f"Biên lai điện tử {tx['reference']}"))
    pdf.set_author("govlink mock payment platform")
    pdf.set_creation_date(issued_at)
    pdf.add_page()
    pdf.set_font(family, "B", 15)
    pdf.cell(
        0, 10, text("BIÊN LAI THU PHÍ, LỆ PHÍ ĐIỆN TỬ"), new_x="LMARGIN", new_y="NEXT", align="C"
    )
    pdf.set_font(family, "", 10)
    pdf.cell(
        0,
        6,
        text("E-receipt of fees and charges — govlink mock, not a legal document"),
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    if font is None:
        pdf.cell(
            0,
            6,
            "(no Unicode font installed: Vietnamese shown without diacritics)",
            new_x="LMARGIN",
            new_y="NEXT",
            align="C",
        )
    pdf.ln(4)

    procedure = " - ".join(part for part in (receipt.get("MaTTHC"), receipt.get("TenTTHC")) if part)
    paid_at = tx.get("paid_at") or ""
    rows = [
        ("Người nộp / Payer", str(receipt.get("HoTenNguoiNop") or "")),
        ("Số giấy tờ / ID number", str(receipt.get("SoCMNDNguoiNop") or "")),
        ("Số tiền / Amount", format_vnd(int(tx["amount"]))),
        ("Thủ tục / Procedure", procedure),
        ("Hồ sơ / Dossier", str(receipt.get("MaHoSo") or "")),
        ("Đơn vị / Agency", str(receipt.get("TenDonVi") or receipt.get("MaDonVi") or "")),
        ("Mã giao dịch / Transaction id", str(tx.get("transaction_id") or "")),
        ("Mã tham chiếu / Reference", str(tx["reference"])),
        ("Ngân hàng / Bank", str(tx.get("bank_code") or "")),
        ("Nội dung / Description", str(tx.get("description") or "")),
        ("Thời gian thanh toán / Paid at", _display_time(str(paid_at))),
        ("Ngày lập / Issued", issued_at.strftime("%d/%m/%Y %H:%M:%S")),
    ]
    for label, value in rows:
        pdf.set_font(family, "B", 10)
        pdf.cell(70, 7, text(label))
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 7, text(value or "-"), new_x="LMARGIN", new_y="NEXT")

    fees = receipt.get("PhiLePhi") or []
    if fees:
        pdf.ln(3)
        pdf.set_font(family, "B", 10)
        pdf.cell(0, 7, text("Chi tiết phí, lệ phí / Fee lines"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 10)
        for line in fees:
            if isinstance(line, Mapping):
                label = fee_name(line)
                pdf.cell(130, 7, text(label or "-"))
                pdf.cell(
                    0, 7, format_vnd(int(line.get("SoTien", 0))), new_x="LMARGIN", new_y="NEXT"
                )
    return bytes(pdf.output())


def _display_time(compact: str) -> str:
    if len(compact) == 14 and compact.isdigit():
        day = f"{compact[6:8]}/{compact[4:6]}/{compact[0:4]}"
        return f"{day} {compact[8:10]}:{compact[10:12]}:{compact[12:14]}"
    return compact
