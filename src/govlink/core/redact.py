"""Personal-data masking for logs, reprs, exception messages and CLI output.

Masking is the default everywhere; showing personal data is an explicit act
(:func:`unmasked`, or ``--unmask`` in the CLI). Two layers:

* :func:`redact_text` finds ID numbers (9 and 12 digits), phone numbers and e-mail
  addresses in free text (log lines, error bodies);
* :func:`redact_mapping` masks the *values* of fields known to hold personal data
  (by wire name or by Python attribute name), however they are formatted.

Masks keep a little of the value (last digits, first letter, e-mail domain) so that
a support person can still tell two records apart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "PERSONAL_FIELDS",
    "RedactingFilter",
    "install_log_redaction",
    "is_masking",
    "mask_value",
    "redact_mapping",
    "redact_text",
    "unmasked",
]

_masking: ContextVar[bool] = ContextVar("govlink_masking", default=True)

# Wire names (as the platforms spell them) and our snake_case attribute names.
PERSONAL_FIELDS: frozenset[str] = frozenset(
    name.lower()
    for name in (
        # identity numbers
        "SoDinhDanh",
        "SoCMND",
        "SoCCCD",
        "CCCD",
        "CMND",
        "MaSoThue",
        "MaBHXH",
        "HoChieu",
        "SoGiayToChuHoSo",
        "SoCMNDNguoiNop",
        "MaDoiTuong",
        "so_dinh_danh",
        "so_cmnd",
        "id_number",
        "old_id_number",
        "tax_code",
        "social_insurance_number",
        "passport_number",
        "payer_id_number",
        "owner_id_number",
        # names
        "HoVaTen",
        "HoTen",
        "Ho",
        "ChuDem",
        "Ten",
        "ChuHoSo",
        "HoTenNguoiNop",
        "Cha",
        "Me",
        "VoChong",
        "ChuHo",
        "FullName",
        "full_name",
        "ho_ten",
        "family_name",
        "middle_name",
        "given_name",
        "owner_name",
        "payer_name",
        "father",
        "mother",
        "spouse",
        "household_head",
        "applicant_name",
        # contact
        "SoDienThoai",
        "ThuDienTu",
        "Email",
        "Fax",
        "Mobile",
        "Telephone",
        "phone",
        "email",
        "phone_number",
        "mobile",
        # dates of birth
        "NgayThangNamSinh",
        "NgaySinh",
        "birth_date",
        "date_of_birth",
        "ngay_sinh",
        "dob",
        # addresses
        "DiaChi",
        "ThuongTru",
        "NoiOHienTai",
        "NoiOHienNay",
        "QueQuan",
        "NoiDangKyKhaiSinh",
        "ChiTiet",
        "address",
        "permanent_address",
        "current_address",
        "home_town",
        "birth_registration_place",
    )
)

# 12-digit personal ID, 9-digit old card; not inside longer digit runs.
_ID_RE = re.compile(r"(?<!\d)(\d{12}|\d{9})(?!\d)")
# Vietnamese phone numbers: 0xxxxxxxxx (10 digits) or +84 / 84 followed by 9 digits.
_PHONE_RE = re.compile(r"(?<![\d+])(?:\+?84|0)(\d{9})(?!\d)")
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def is_masking() -> bool:
    """Whether personal data is masked in the current context (default: yes)."""
    return _masking.get()


@contextmanager
def unmasked() -> Iterator[None]:
    """Show personal data inside this block only (CLI ``--unmask``, audited exports)."""
    token = _masking.set(False)
    try:
        yield
    finally:
        _masking.reset(token)


def _mask_digits(digits: str) -> str:
    return "*" * (len(digits) - 3) + digits[-3:]


def redact_text(text: str) -> str:
    """Mask ID numbers, phone numbers and e-mails found anywhere in ``text``."""
    if not is_masking() or not text:
        return text
    text = _EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _PHONE_RE.sub(lambda m: "*******" + m.group(1)[-3:], text)
    return _ID_RE.sub(lambda m: _mask_digits(m.group(1)), text)


def mask_value(value: Any) -> Any:
    """Mask one personal value whole, keeping a hint of its shape."""
    if not is_masking() or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    text = str(value)
    if not text:
        return text
    if text.isdigit():
        return _mask_digits(text) if len(text) > 3 else "***"
    if "@" in text:
        return redact_text(text)
    return text[0] + "***"


def redact_mapping(data: Any) -> Any:
    """Deep copy of ``data`` with personal fields masked and free text scanned."""
    if not is_masking():
        return data
    if isinstance(data, Mapping):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and key.lower() in PERSONAL_FIELDS:
                out[key] = mask_value(value)
            else:
                out[key] = redact_mapping(value)
        return out
    if isinstance(data, list | tuple):
        return [redact_mapping(v) for v in data]
    if isinstance(data, str):
        return redact_text(data)
    return data


class RedactingFilter(logging.Filter):
    """Masks personal data in records of loggers govlink does not write itself.

    httpx logs every request URL at INFO; a lookup by ID number puts that number in
    the query string. Attached to such loggers, this filter rewrites the message
    before any handler sees it (unless masking is switched off with :func:`unmasked`).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_masking():
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business
            return True
        masked = redact_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def install_log_redaction(*logger_names: str) -> None:
    """Attach one :class:`RedactingFilter` to each named logger (idempotent)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
