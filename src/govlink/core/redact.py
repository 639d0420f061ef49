"""Personal-data masking for logs, reprs, exception messages and CLI output.

Masking is the default everywhere; showing personal data is an explicit act
(:func:`unmasked`, or ``--unmask`` in the CLI). Two layers:

* :func:`redact_text` finds ID numbers (9 and 12 digits), phone numbers and e-mail
  addresses in free text (log lines, error bodies);
* :func:`redact_mapping` masks the *values* of fields known to hold personal data
  (by wire name or by Python attribute name), however they are formatted;
* :func:`redact_body` masks HTTP bodies for logs and evidence: parsed JSON field by
  field, and anything too large, truncated or broken by key with
  :func:`redact_keyed_text` (``"key": value``, ``key=value``, ``<key>value</key>``),
  so masking never degrades to digit patterns alone.

Masks keep a little of the value (last digits, first letter, e-mail domain) so that
a support person can still tell two records apart.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "PERSONAL_FIELDS",
    "SECRET_MASK",
    "RedactingFilter",
    "install_log_redaction",
    "is_masking",
    "is_personal_field",
    "is_secret_key",
    "mask_secrets",
    "mask_url_password",
    "mask_value",
    "masked_repr_args",
    "redact_body",
    "redact_keyed_text",
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
        "NgayThangNam",
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


# Parts of wire names that mark personal data in fields we do not list one by one
# (``DiaChiChuHoSo``, ``HoTenNguoiNop``, ``SoDienThoaiLienHe`` …).
_PERSONAL_PARTS = (
    "hoten",
    "hovaten",
    "diachi",
    "dienthoai",
    "thudientu",
    "email",
    "cmnd",
    "cccd",
    "sodinhdanh",
    "ngaysinh",
    "namsinh",
    "hochieu",
)


def is_personal_field(name: str) -> bool:
    """Whether a field named ``name`` (wire or attribute name) holds personal data."""
    lowered = name.lower()
    if lowered in PERSONAL_FIELDS:
        return True
    compact = lowered.replace("_", "")
    return any(part in compact for part in _PERSONAL_PARTS)


class _MaskedText(str):
    """Shows as a bare masked token in reprs (``N***``, not ``'N***'``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def masked_repr_args(
    model: Any,
    args: Iterable[tuple[str | None, Any]],
    *,
    personal: frozenset[str] = frozenset(),
) -> Iterator[tuple[str | None, Any]]:
    """``__repr_args__`` of a pydantic model with personal values masked.

    The one rule every platform model uses: a field is personal when its attribute
    name or wire alias is (:func:`is_personal_field`) or the model lists it in
    ``personal``; extra wire fields kept by ``extra="allow"`` are judged by their wire
    name; free-form mappings are masked key by key. Unset fields are left out so
    that models with forty optional fields stay readable.
    """
    fields = getattr(type(model), "model_fields", {})
    masking = is_masking()
    for name, value in args:
        if value is None:
            continue
        if not masking or name is None:
            yield name, value
            continue
        info = fields.get(name)
        alias = getattr(info, "alias", None)
        personal_field = (
            name in personal or is_personal_field(name) or bool(alias and is_personal_field(alias))
        )
        if personal_field and not hasattr(
            type(value), "model_fields"
        ):  # nested models mask themselves
            masked = mask_value(value.value if isinstance(value, Enum) else value)
            yield name, _MaskedText(masked) if isinstance(masked, str) else masked
        elif isinstance(value, Mapping):
            yield name, redact_mapping(value)
        else:
            yield name, value


def redact_mapping(data: Any) -> Any:
    """Deep copy of ``data`` with personal fields masked and free text scanned."""
    if not is_masking():
        return data
    if isinstance(data, Mapping):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and is_personal_field(key):
                out[key] = mask_value(value)
            else:
                out[key] = redact_mapping(value)
        return out
    if isinstance(data, list | tuple):
        return [redact_mapping(v) for v in data]
    if isinstance(data, str):
        return redact_text(data)
    return data


SECRET_MASK = "********"  # noqa: S105 - the mask, not a password

# Keys whose values are credentials: masked always, even inside ``unmasked()``
# (unmasking is for personal data a clerk may need to see, never for secrets).
_SECRET_KEY = re.compile(
    r"secret|passw|credential|private_key$|apikey|api_key|accesskey|access_key|"
    r"(^|_)token$|(^|_)key$|signing|verifier|assertion|^session$|^code$|"
    r"^authorization$|^cookie$|^pwd$",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """Whether a field, header or option named ``key`` holds a credential."""
    return bool(_SECRET_KEY.search(key))


def mask_url_password(value: str) -> str:
    """Hide the password of ``scheme://user:password@host`` URLs (proxies, DSNs)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if parts.password is None:
        return value
    netloc = f"{parts.username or ''}:{SECRET_MASK}@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def mask_secrets(data: Any, key: str = "") -> Any:
    """Deep copy of ``data`` with credential values and URL passwords masked."""
    if isinstance(data, Mapping):
        return {k: mask_secrets(v, str(k)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask_secrets(v, key) for v in data]
    if data is None or data == "":
        return data
    if key and is_secret_key(key):
        return SECRET_MASK
    if isinstance(data, str) and "://" in data:
        return mask_url_password(data)
    return data


# The text of an XML element, by local name (SOAP and edXML bodies); an element cut
# off by truncation (no end tag before the end of the text) counts too.
_XML_TEXT = re.compile(r"<((?:[\w.-]+:)?([\w.-]+))(\s[^<>]*)?>([^<]+)(</\1>|$)")
# ``"key": value`` in JSON text that cannot be parsed whole (too large to parse for a
# log line, truncated, or broken): a string (possibly cut off at the end), a number
# or a literal. Objects and arrays are left to their own keys.
_JSON_PAIR = re.compile(
    r'"((?:[^"\\]|\\.){1,200})"(\s*:\s*)'
    r'("(?:[^"\\]|\\.)*(?:"|\\?$)|-?\d[\d.eE+-]*|true|false)'
)
# ``key=value`` of forms and query strings, also inside other text.
_FORM_PAIR = re.compile(r"(?:(?<=^)|(?<=[&?;\s]))([A-Za-z_][\w.\-\[\]]{0,100})=([^&\s]*)")
# Bodies up to this size are parsed as JSON for masking; larger ones are masked by key.
_PARSE_LIMIT = 256 * 1024


def _masked_by_key(key: str, value: str) -> str | None:
    """The masked text of ``value`` under ``key``, or None when the key is harmless."""
    if is_secret_key(key):
        return SECRET_MASK
    if is_masking() and is_personal_field(key):
        return str(mask_value(value.strip()))
    return None


def _redact_xml(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        masked = _masked_by_key(match.group(2), match.group(4))
        value = match.group(4) if masked is None else masked
        return f"<{match.group(1)}{match.group(3) or ''}>{value}{match.group(5)}"

    return _XML_TEXT.sub(one, text)


def _redact_json_text(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        raw = match.group(3)
        quoted = raw.startswith('"')
        value = raw[1:-1] if quoted and len(raw) > 1 and raw.endswith('"') else raw.lstrip('"')
        masked = _masked_by_key(match.group(1), value)
        if masked is None:
            return match.group(0)
        return f'"{match.group(1)}"{match.group(2)}{json.dumps(masked, ensure_ascii=False)}'

    return _JSON_PAIR.sub(one, text)


def _redact_form_text(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        masked = _masked_by_key(match.group(1), match.group(2))
        return match.group(0) if masked is None else f"{match.group(1)}={masked}"

    return _FORM_PAIR.sub(one, text)


def redact_keyed_text(text: str) -> str:
    """Mask values by key in text that could not be parsed: JSON, form and XML shapes.

    For bodies too large to parse for a log line, truncated, or malformed: every
    ``"key": value``, ``key=value`` and ``<key>value</key>`` whose key names a
    credential or personal data is masked, so masking never falls back to digit
    patterns alone. Free-text ID numbers, phones and e-mails are masked after.
    """
    return redact_text(_redact_xml(_redact_form_text(_redact_json_text(text))))


def redact_body(body: bytes, limit: int = 2000) -> str:
    """A log-safe preview of an HTTP body: JSON, form, XML or text.

    Credentials are masked by key whatever the masking mode; personal fields and
    free-text ID numbers, phones and e-mails are masked unless :func:`unmasked`.
    JSON up to 256 KiB is parsed and masked field by field; larger, truncated or
    broken bodies of any shape are masked by key with :func:`redact_keyed_text`
    (never by digit patterns alone). The body is parsed only as far as needed to
    find keys, never executed or resolved (XML is handled by a regular expression,
    not a parser).
    """
    if not body:
        return ""
    head = body[: limit * 4].decode("utf-8", errors="replace")
    stripped = head.lstrip()
    shown: str | None = None
    if stripped[:1] in ("{", "[") and len(body) <= _PARSE_LIMIT:
        try:
            parsed = json.loads(body)
        except ValueError:
            shown = None
        else:
            shown = json.dumps(redact_mapping(mask_secrets(parsed)), ensure_ascii=False)
    elif stripped[:1] != "<" and "=" in head and not any(c in head for c in " \n\r\t<>{}"):
        pairs = parse_qsl(head, keep_blank_values=True)
        if pairs:
            shown = urlencode(
                [(key, _masked_by_key(key, value) or value) for key, value in pairs],
                safe="*",
            )
    if shown is None:
        shown = _redact_xml(_redact_form_text(_redact_json_text(head)))
        cut = len(body) > limit * 4
    else:
        cut = False
    shown = redact_text(shown)
    return shown[:limit] + ("…" if len(shown) > limit or cut else "")


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
