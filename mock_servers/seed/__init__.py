"""Synthetic test data the mocks serve, by section, and the checks that keep it usable.

The default seed ships next to this module, one JSON file per section
(``citizens.json`` → section ``citizens``); a platform engineer adds a section by
dropping a file here. ``--seed FILE`` (or ``POST /__admin/seed``) *replaces* the
sections it names and keeps the others, so a vendor can swap the citizens without
re-typing the OAuth clients. The schema is in ``README.md`` next to this file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = [
    "SEED_DIR",
    "SeedError",
    "load_default_seed",
    "load_seed",
    "load_seed_file",
    "merge_seed",
    "validate_sections",
]

SEED_DIR = Path(__file__).resolve().parent


class SeedError(ValueError):
    """A seed file or admin payload the mocks cannot use; names the bad section."""

    def __init__(self, message: str, *, section: str | None = None) -> None:
        super().__init__(message)
        self.section = section


def load_default_seed() -> dict[str, Any]:
    """Every section shipped in ``mock_servers/seed/*.json`` (a fresh copy each call)."""
    return _load_directory(SEED_DIR)


def load_seed_file(path: str | Path) -> dict[str, Any]:
    """The sections named in ``path`` (a JSON object of sections, or a directory of
    ``<section>.json`` files), validated. Only those sections: merge with
    :func:`merge_seed` to replace them in a full seed."""
    source = Path(path).expanduser()
    if source.is_dir():
        return _load_directory(source)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {source}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(
            f"seed file {source} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})"
        ) from None
    return validate_sections(document, source=str(source))


def load_seed(path: str | Path | None = None) -> dict[str, Any]:
    """The default seed with the sections of ``path`` (if any) replaced."""
    seed = load_default_seed()
    if path is not None:
        seed = merge_seed(seed, load_seed_file(path))
    return seed


def merge_seed(base: dict[str, Any], replacement: dict[str, Any]) -> dict[str, Any]:
    """``base`` with every section named in ``replacement`` replaced (not merged).

    A section ``base`` does not have is refused: a typo (``citizen``) would otherwise
    be loaded, ignored by every mock, and leave the shipped data in place silently.
    """
    unknown = sorted(set(replacement) - set(base))
    if unknown:
        raise SeedError(
            f"seed: no section {unknown[0]!r} (known: {', '.join(sorted(base))})",
            section=unknown[0],
        )
    merged = dict(base)
    merged.update(replacement)
    return merged


def _load_directory(directory: Path) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for file in sorted(directory.glob("*.json")):
        try:
            sections[file.stem] = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SeedError(
                f"seed section {file.stem!r} ({file}): {exc}", section=file.stem
            ) from None
    return validate_sections(sections, source=str(directory))


# --- validation -------------------------------------------------------------------------

_DIGITS = re.compile(r"^\d+$")
_AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_BIRTH = re.compile(r"^\d{4}(-\d{2}-\d{2})?$")
_PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")

# section -> the field that identifies an item (must be a non-empty string)
_KEYS: dict[str, str] = {
    "citizens": "so_dinh_danh",
    "organisations": "ma_so_doanh_nghiep",
    "agencies": "code",
    "procedures": "ma_tthc",
    "clients": "client_id",
}


def validate_sections(document: Any, *, source: str = "seed") -> dict[str, Any]:
    """Check the known sections' shape; unknown sections pass through untouched.

    Known sections must be lists of objects carrying their identifying field, so a
    mock never crashes half-way through a request on a malformed seed: the error
    surfaces at load time and names the section, the item and the field.
    """
    if not isinstance(document, dict):
        raise SeedError(
            f"{source}: a seed is a JSON object of sections "
            f'(e.g. {{"citizens": [...]}}), got {type(document).__name__}'
        )
    for name, items in document.items():
        if not isinstance(name, str) or not name:
            raise SeedError(f"{source}: section names must be non-empty strings")
        if name in _KEYS:
            _check_known_section(name, items, source)
    return dict(document)


def _fail(source: str, section: str, message: str) -> SeedError:
    return SeedError(f"{source}: section {section!r}: {message}", section=section)


def _check_known_section(section: str, items: Any, source: str) -> None:
    if not isinstance(items, list):
        raise _fail(source, section, f"expected a list of objects, got {type(items).__name__}")
    key = _KEYS[section]
    seen: set[tuple[str, ...]] = set()
    for index, item in enumerate(items):
        where = f"item {index}"
        if not isinstance(item, dict):
            raise _fail(source, section, f"{where} is {type(item).__name__}, expected an object")
        value = item.get(key)
        if not isinstance(value, str) or not value:
            raise _fail(source, section, f"{where} has no {key!r} (a non-empty string)")
        identity = (value, str(item.get("kind", ""))) if section == "clients" else (value,)
        if identity in seen:
            raise _fail(source, section, f"{where}: duplicate {key} {value!r}")
        seen.add(identity)
        problem = _CHECKS[section](item)
        if problem:
            raise _fail(source, section, f"{where} ({key} {value!r}): {problem}")


def _citizen_problem(item: dict[str, Any]) -> str | None:
    number = item["so_dinh_danh"]
    if len(number) != 12 or not _DIGITS.match(number):
        return "so_dinh_danh must be 12 digits"
    cmnd = item.get("so_cmnd")
    if cmnd is not None and (not isinstance(cmnd, str) or len(cmnd) not in (9, 12)):
        return "so_cmnd must be null or a string of 9 or 12 digits"
    birth = item.get("ngay_sinh")
    if birth is not None and (not isinstance(birth, str) or not _BIRTH.match(birth)):
        return "ngay_sinh must be 'YYYY-MM-DD' or 'YYYY'"
    for name in ("ho", "ten"):
        if not isinstance(item.get(name), str):
            return f"{name} must be a string"
    return None


def _organisation_problem(item: dict[str, Any]) -> str | None:
    if not isinstance(item.get("ten_doanh_nghiep"), str):
        return "ten_doanh_nghiep must be a string"
    return None


def _agency_problem(item: dict[str, Any]) -> str | None:
    if not _AGENCY_CODE.match(item["code"]):
        return "code must look like '000.00.00.H47'"
    parent = item.get("parent")
    if parent is not None and (not isinstance(parent, str) or not _AGENCY_CODE.match(parent)):
        return "parent must be null or an agency code like '000.00.00.H47'"
    if not isinstance(item.get("name"), str):
        return "name must be a string"
    return None


def _procedure_problem(item: dict[str, Any]) -> str | None:
    if not _PROCEDURE_CODE.match(item["ma_tthc"]):
        return "ma_tthc must look like '1.001234'"
    fee = item.get("le_phi", 0)
    if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
        return "le_phi must be a whole number of VND (>= 0)"
    return None


def _client_problem(item: dict[str, Any]) -> str | None:
    if not isinstance(item.get("kind"), str) or not item["kind"]:
        return "kind must be a string such as 'sso' or 'gateway'"
    uris = item.get("redirect_uris", [])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        return "redirect_uris must be a list of strings"
    return None


_CHECKS = {
    "citizens": _citizen_problem,
    "organisations": _organisation_problem,
    "agencies": _agency_problem,
    "procedures": _procedure_problem,
    "clients": _client_problem,
}
