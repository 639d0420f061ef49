"""Reading and validating a one-stop-shop system's export of dossier changes.

An export is a CSV file (header row; ``,`` or ``;`` — Excel with Vietnamese
regional settings writes ``;`` — with or without a UTF-8 BOM) or JSON Lines: one
dossier (``DongBoHoSoMC``) or one progress step (``CapNhatTienDoHoSoMC``) per row,
columns named as on the wire (``MaHoSo``…) or as govlink's attributes
(``ma_ho_so``…); list fields hold JSON. Used by ``govlink dossiers push`` and by
anything else that reads the same exports.

Nothing is lost silently:

* a column govlink does not know is an error naming it, with a "did you mean"
  (``allow_unknown_columns=True`` passes such columns through to the portal);
* a required column missing from the CSV header is reported once, not per row;
* dates are accepted as ``yyyyMMddHHmmss``, ISO 8601 and ``dd/MM/yyyy[ HH:mm[:ss]]``
  (Vietnam time unless an offset is given) and sent as ``yyyyMMddHHmmss``;
* a file that is not in the expected encoding names the line, with a hint.

**Which change is which.** Each row becomes an outbox change whose idempotency key
identifies the *event*, so that pushing the same file again queues nothing new
while a dossier that goes 2 → 5 → 2 queues all three changes. The event is, in
order of preference, the optional control columns (never sent to the portal):

* ``event_id`` — the exporting system's own id of the change;
* ``sequence`` — its change sequence number (per dossier);
* ``changed_at`` — when the change was made (any accepted date format);

and without any of them, the row's content and how many identical rows came
before it in the same file. A dossier row identical to one queued by an earlier
push, when that dossier has changed since, cannot be told apart from a re-push of
the old file without one of those columns: it is reported, not dropped.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from govlink.core.clock import VN_TZ, format_compact
from govlink.core.errors import GovLinkError
from govlink.dossiers.models import Dossier, DossierStatus, ProgressRecord
from govlink.sync._store import OutboxStore
from govlink.sync.models import Change

__all__ = [
    "CONTROL_COLUMNS",
    "DATE_FORMATS",
    "ExportFileError",
    "Kind",
    "Problem",
    "Row",
    "Validated",
    "check_dossier_columns",
    "event_key",
    "normalise_date",
    "parse_dossier_row",
    "read_rows",
    "validate_rows",
]

Row = tuple[int, dict[str, Any] | str]
"""``(line number, row)``; a row that could not be read is the reason, as text."""

CONTROL_COLUMNS = frozenset({"isUpdating", "is_updating", "event_id", "sequence", "changed_at"})
"""Columns that steer the push and are not sent to the portal."""

DATE_FORMATS = (
    "yyyyMMddHHmmss, ISO 8601 (2026-03-02T08:30:00+07:00) or dd/MM/yyyy[ HH:mm[:ss]] (Vietnam time)"
)

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class ExportFileError(GovLinkError):
    """The file as a whole cannot be read (encoding, unknown or missing columns)."""


class Kind(StrEnum):
    dossiers = "dossiers"
    progress = "progress"


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be sent."""

    line: int
    field: str
    message: str
    ma_ho_so: str | None = None


@dataclass
class Validated:
    """The outcome of validating a whole file."""

    rows: int = 0
    changes: list[tuple[int, Change]] = field(default_factory=list)
    statuses: list[tuple[str, DossierStatus]] = field(default_factory=list)
    """``(MaHoSo, status)`` of the dossier changes to queue, in order (for the
    transition check inside the enqueue transaction)."""
    problems: list[Problem] = field(default_factory=list)
    already_queued: int = 0
    unknown_columns: set[str] = field(default_factory=set)
    keyed_by: str = "content"
    """What identifies each change: ``event_id``, ``sequence``, ``changed_at`` or
    ``content``."""

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})


# ------------------------------------------------------------------------- reading


def _is_jsonl(path: Path, head: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    return head.lstrip().startswith("{")


def _decode(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec)
    except LookupError:
        raise ExportFileError(
            f"unknown encoding {encoding!r}",
            hint="pass --encoding with a Python codec name, e.g. utf-8, cp1258, utf-16",
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ExportFileError(
            f"{path.name}: line {line}, column {column} is not valid {encoding} "
            f"(byte 0x{data[exc.start]:02x})",
            hint='re-export the file as UTF-8 ("CSV UTF-8" in Excel), or pass --encoding '
            "with the file's encoding (e.g. --encoding cp1258 for Windows Vietnamese)",
        ) from None


def _delimiter(header: str) -> str:
    """``;`` when the header has more of them than commas (Excel, Vietnamese locale)."""
    return ";" if header.count(";") > header.count(",") else ","


class ExportFile:
    """An export opened for reading: its rows and, for CSV, its header."""

    def __init__(self, path: Path, *, encoding: str = "utf-8") -> None:
        self.path = path
        self.text = _decode(path, encoding)
        self.jsonl = _is_jsonl(path, self.text[:200])
        self.header: list[str] | None = None
        self.delimiter = ","
        if not self.jsonl:
            first = self.text.split("\n", 1)[0]
            self.delimiter = _delimiter(first)
            if first.strip():
                self.header = [
                    name.strip() for name in next(csv.reader([first], delimiter=self.delimiter))
                ]

    def rows(self) -> Iterator[Row]:
        if self.jsonl:
            for number, line in enumerate(self.text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, f"not valid JSON ({exc.msg}, column {exc.colno})"
                    continue
                yield number, value if isinstance(value, dict) else "not a JSON object"
            return
        reader = csv.DictReader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        if not reader.fieldnames:
            return
        for row in reader:
            cleaned: dict[str, Any] = {}
            for name, value in row.items():
                if name is None:  # more cells than header columns
                    yield reader.line_num, f"{len(value)} cell(s) more than the header has"
                    break
                if value is None or not value.strip():
                    continue
                cleaned[name.strip()] = value.strip()
            else:
                yield reader.line_num, cleaned


def read_rows(path: Path, *, encoding: str = "utf-8") -> Iterator[Row]:
    """``(line number, row)`` for each row of a CSV or JSON Lines export."""
    return ExportFile(path, encoding=encoding).rows()


# ----------------------------------------------------------------------- the model


def _fields(model: Any) -> dict[str, Any]:
    """Every accepted name (attribute and wire alias) of ``model`` → its field info."""
    names: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        names[name] = info
        names[info.alias or name] = info
    return names


def _is_date(info: Any) -> bool:
    return "datetime" in str(info.annotation)


def _item_model(info: Any) -> Any:
    """The model of a list field's items (``list[Fee] | None`` → ``Fee``), else None."""
    for arg in getattr(info.annotation, "__args__", ()) or ():
        inner = getattr(arg, "__args__", ())
        if inner and hasattr(inner[0], "model_fields"):
            return inner[0]
    return None


def normalise_date(value: Any) -> Any:
    """A date in any accepted format as ``yyyyMMddHHmmss`` (Vietnam time).

    Raises ValueError naming the accepted formats; other types pass through.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or (len(text) == 14 and text.isdigit()):
        return text
    if "/" in text:
        for pattern in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
            try:
                return format_compact(datetime.strptime(text, pattern).replace(tzinfo=VN_TZ))
            except ValueError:
                continue
    elif "-" in text:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return format_compact(parsed if parsed.tzinfo else parsed.replace(tzinfo=VN_TZ))
    raise ValueError(f"expected a date as {DATE_FORMATS}, got {value!r}")


def _normalise_dates(row: dict[str, Any], model: Any, line: int, where: str = "") -> list[Problem]:
    """Rewrite the row's dates (and those of its list items) to ``yyyyMMddHHmmss``."""
    problems: list[Problem] = []
    known = _fields(model)
    for name in list(row):
        info = known.get(name)
        if info is None:
            continue
        if _is_date(info):
            try:
                row[name] = normalise_date(row[name])
            except ValueError as exc:
                problems.append(Problem(line, where + name, str(exc)))
            continue
        item_model = _item_model(info)
        if item_model is not None and isinstance(row[name], list):
            for index, item in enumerate(row[name]):
                if isinstance(item, dict):
                    problems += _normalise_dates(item, item_model, line, f"{where}{name}.{index}.")
    return problems


# ----------------------------------------------------------------------- validating


def _decode_lists(row: dict[str, Any], model: Any, line: int) -> list[Problem]:
    problems = []
    for name, info in _fields(model).items():
        if name in row and "list[" in str(info.annotation) and isinstance(row[name], str):
            try:
                row[name] = json.loads(row[name])
            except json.JSONDecodeError:
                problems.append(Problem(line, name, "expected a JSON list, e.g. [{...}]"))
    return problems


def _is_updating(row: dict[str, Any], default: bool, line: int) -> bool | Problem:
    raw = row.pop("isUpdating", row.pop("is_updating", None))
    if raw is None:
        return default
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return Problem(line, "isUpdating", f"expected True or False, got {raw!r}")


def _digest(*parts: str) -> str:
    return "push-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def event_key(
    kind: str, ma_ho_so: str, payload: str, event: tuple[str, str] | None, seen: int
) -> str:
    """The idempotency key of one row's change (see the module docstring)."""
    if event is None:
        # The first occurrence keeps the key earlier versions derived from content
        # alone, so files pushed before stay recognised.
        return _digest(kind, payload) if seen == 0 else _digest(kind, payload, f"#{seen}")
    column, value = event
    if column == "changed_at":
        return _digest(kind, ma_ho_so, column, value, payload)
    return _digest(kind, ma_ho_so, column, value)


def _event(row: dict[str, Any], line: int) -> tuple[str, str] | Problem | None:
    for column in ("event_id", "sequence", "changed_at"):
        raw = row.pop(column, None)
        if raw is None or str(raw).strip() == "":
            continue
        value = str(raw).strip()
        if column == "changed_at":
            try:
                value = normalise_date(value)
            except ValueError as exc:
                return Problem(line, column, str(exc))
        for other in ("event_id", "sequence", "changed_at"):
            row.pop(other, None)
        return column, value
    return None


def _closest(name: str, candidates: Sequence[str]) -> str | None:
    same = [c for c in candidates if c.lower() == name.lower()]
    close = same or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _missing_required(model: Any, header: Sequence[str]) -> list[str]:
    """Wire names of the required fields the header has under neither name."""
    present = set(header)
    return [
        info.alias or name
        for name, info in model.model_fields.items()
        if info.is_required() and name not in present and (info.alias or name) not in present
    ]


def check_columns(
    columns: dict[str, int], model: Any, *, header: Sequence[str] | None, allow_unknown: bool
) -> list[str]:
    """File-level column problems, each once: unknown columns (first line seen) and
    required columns missing from the CSV header."""
    known = sorted(set(_fields(model)) | CONTROL_COLUMNS)
    missing = [] if header is None else _missing_required(model, header)
    messages = []
    for name, line in sorted(columns.items(), key=lambda item: item[1]):
        if name in known:
            continue
        guess = _closest(name, known)
        if guess in missing:  # a misspelt required column: one message for both
            missing.remove(guess)
            messages.append(
                f"unknown column {name!r} (line {line}): did you mean the required column {guess}?"
            )
        elif not allow_unknown:
            also = f" (did you mean {guess}?)" if guess else ""
            messages.append(f"unknown column {name!r} (line {line}){also}")
    messages += [f"required column {wire} is missing from the header" for wire in missing]
    return messages


def validate_rows(
    rows: Iterator[Row],
    *,
    kind: Kind,
    default_updating: bool,
    force: bool,
    store: OutboxStore,
    header: Sequence[str] | None = None,
    allow_unknown_columns: bool = False,
) -> Validated:
    """Validate every row; collect every problem (nothing is queued here).

    Raises :class:`ExportFileError` for problems of the whole file (unknown
    columns, a required column missing from ``header``), each named once.
    """
    from pydantic import ValidationError as PydanticValidationError

    from govlink.dossiers._outbox import check_sendable_status, dossier_change, progress_change

    model: Any = Dossier if kind is Kind.dossiers else ProgressRecord
    known = set(_fields(model)) | CONTROL_COLUMNS
    missing_header = set() if header is None else set(_missing_required(model, header))
    result = Validated()
    columns: dict[str, int] = {}
    parsed: list[tuple[int, Any, bool, tuple[str, str] | None]] = []
    for line, row in rows:
        result.rows += 1
        if isinstance(row, str):
            result.problems.append(Problem(line, "row", row))
            continue
        for name in row:
            columns.setdefault(name, line)
        updating = _is_updating(row, default_updating, line) if kind is Kind.dossiers else True
        event = _event(row, line)
        problems = _decode_lists(row, model, line)
        problems += _normalise_dates(row, model, line)
        if isinstance(updating, Problem):
            problems.append(updating)
        if isinstance(event, Problem):
            problems.append(event)
        result.unknown_columns |= set(row) - known
        ma = row.get("MaHoSo", row.get("ma_ho_so"))
        try:
            value = model.model_validate(row)
            check_sendable_status(
                value.status, field="TrangThaiHoSo" if kind is Kind.dossiers else "TrangThai"
            )
        except PydanticValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(str(part) for part in error["loc"]) or "row"
                if error.get("type") == "missing" and where in missing_header:
                    continue  # reported once for the header
                if any(p.field == where for p in problems):
                    continue  # the date reader already said what is wrong
                message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
                problems.append(Problem(line, where, message, ma if isinstance(ma, str) else None))
        except GovLinkError as exc:
            field_name = getattr(exc, "field", "row")
            problems.append(
                Problem(line, field_name, exc.message, ma if isinstance(ma, str) else None)
            )
        if problems:
            result.problems.extend(problems)
            continue
        if missing_header:
            continue
        parsed.append((line, value, bool(updating), event if isinstance(event, tuple) else None))

    file_problems = check_columns(
        columns, model, header=header, allow_unknown=allow_unknown_columns
    )
    if file_problems:
        unknown = any(problem.startswith("unknown") for problem in file_problems)
        raise ExportFileError(
            "; ".join(file_problems),
            hint="rename the columns (wire names like MaHoSo, or attribute names like "
            "ma_ho_so)"
            + (
                ", or pass --allow-unknown-columns to send unknown ones as they are"
                if unknown
                else ""
            )
            + "; nothing was queued",
        )
    if allow_unknown_columns:
        result.unknown_columns -= CONTROL_COLUMNS
    else:
        result.unknown_columns = set()

    built = _build(parsed, kind, dossier_change, progress_change)
    keyed = {event[0] for *_rest, event in parsed if event is not None}
    result.keyed_by = ", ".join(sorted(keyed)) if keyed else "content"
    existing = store.existing_keys([c.idempotency_key for _l, c, _s, _e in built])
    result.already_queued = sum(1 for _l, c, _s, _e in built if c.idempotency_key in existing)
    if kind is Kind.dossiers:
        result.problems += _ambiguous_repushes(built, existing, store)
    refused = {p.line for p in result.problems}
    fresh = [
        (line, change, status)
        for line, change, status, _event_col in built
        if change.idempotency_key not in existing and line not in refused
    ]
    if kind is Kind.dossiers and not force:
        fresh = _check_transitions(fresh, store, result)
    result.changes = [(line, change) for line, change, _status in fresh]
    if kind is Kind.dossiers and not force:
        result.statuses = [(change.key, status) for _line, change, status in fresh]
    result.problems.sort(key=lambda p: p.line)
    return result


def _build(
    parsed: list[tuple[int, Any, bool, tuple[str, str] | None]],
    kind: Kind,
    dossier_change: Any,
    progress_change: Any,
) -> list[tuple[int, Change, Any, tuple[str, str] | None]]:
    """(line, change, status, event) in file order, each with its event key."""
    built = []
    seen: dict[str, int] = {}
    for line, value, updating, event in parsed:
        if kind is Kind.dossiers:
            change = dossier_change(value, is_updating=updating)
        else:
            change = progress_change(value)
        payload = change.payload_text()
        content = f"{change.kind}\n{payload}"
        count = seen.get(content, 0)
        seen[content] = count + 1
        if kind is Kind.progress and event is None:
            count = 0  # a progress step carries its own time: identical rows are one step
        key = event_key(change.kind, change.key, payload, event, count)
        built.append(
            (line, replace(change, idempotency_key=key), getattr(value, "status", None), event)
        )
    return built


def _ambiguous_repushes(
    built: list[tuple[int, Change, Any, tuple[str, str] | None]],
    existing: set[str],
    store: OutboxStore,
) -> list[Problem]:
    """Rows keyed by content alone that match a queued change of a dossier that has
    changed since, by a change this file does not contain: a re-push of an old
    file, or the dossier really returning to that state — govlink cannot tell."""
    file_keys = {c.idempotency_key for _l, c, _s, _e in built}
    problems = []
    history: dict[str, list[str]] = {}
    for line, change, _status, event in built:
        if event is not None or change.idempotency_key not in existing:
            continue
        if change.key not in history:
            history[change.key] = store.keys_of(change.key, kind_prefix="dvcqg.dossier.")
        keys = history[change.key]
        if change.idempotency_key not in keys:
            continue
        later = keys[keys.index(change.idempotency_key) + 1 :]
        if any(key not in file_keys for key in later):
            problems.append(
                Problem(
                    line,
                    "row",
                    "identical to a change queued earlier, but the dossier has changed since: "
                    "a re-push of an old file or a return to this state? Add an event_id, "
                    "sequence or changed_at column so each change is identified",
                    change.key,
                )
            )
    return problems


def _check_transitions(
    fresh: list[tuple[int, Change, Any]], store: OutboxStore, result: Validated
) -> list[tuple[int, Change, Any]]:
    from govlink.dossiers._outbox import last_queued_status
    from govlink.dossiers._status import IllegalTransitionError, check_transition

    last: dict[str, Any] = {}
    blocked: set[str] = set()
    kept: list[tuple[int, Change, Any]] = []
    for line, change, status in fresh:
        if change.key in blocked:
            result.problems.append(
                Problem(line, "TrangThaiHoSo", "follows a refused row of this dossier", change.key)
            )
            continue
        if change.key not in last:
            last[change.key] = last_queued_status(store, change.key)
        try:
            check_transition(last[change.key], status, ma_ho_so=change.key)
        except IllegalTransitionError as exc:
            result.problems.append(Problem(line, "TrangThaiHoSo", exc.message, change.key))
            blocked.add(change.key)
            continue
        last[change.key] = status
        kept.append((line, change, status))
    return kept


# ------------------------------------------------------------- reading dossiers only


def parse_dossier_row(row: dict[str, Any], line: int) -> Dossier | list[Problem]:
    """One export row as a :class:`Dossier` (read as ``push`` reads it), or its problems.

    For readers that compare rather than send (``govlink dossiers reconcile``, the
    indicators report): control columns are dropped, list fields and dates are read
    the same way, and every problem of the row is returned instead of raised.
    """
    from pydantic import ValidationError as PydanticValidationError

    data = {k: v for k, v in row.items() if k not in CONTROL_COLUMNS}
    problems = _decode_lists(data, Dossier, line)
    problems += _normalise_dates(data, Dossier, line)
    ma = data.get("MaHoSo", data.get("ma_ho_so"))
    try:
        dossier = Dossier.model_validate(data)
    except PydanticValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "row"
            if any(p.field == where for p in problems):
                continue
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(Problem(line, where, message, ma if isinstance(ma, str) else None))
        return problems
    return problems or dossier


def check_dossier_columns(columns: dict[str, int], header: Sequence[str] | None) -> None:
    """Raise :class:`ExportFileError` for unknown or missing dossier columns (each once)."""
    problems = check_columns(columns, Dossier, header=header, allow_unknown=False)
    if problems:
        raise ExportFileError(
            "; ".join(problems),
            hint="rename the columns (wire names like MaHoSo, or attribute names like ma_ho_so)",
        )
