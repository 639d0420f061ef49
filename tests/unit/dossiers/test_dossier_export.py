"""Reading exports: dates in Vietnamese formats, separators, event keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from govlink.dossiers._export import (
    ExportFile,
    ExportFileError,
    Kind,
    normalise_date,
    validate_rows,
)
from govlink.sync import SqliteOutbox


@pytest.mark.parametrize(
    ("text", "compact"),
    [
        ("20260302083000", "20260302083000"),
        ("02/03/2026", "20260302000000"),
        ("02/03/2026 08:30", "20260302083000"),
        ("02/03/2026 08:30:15", "20260302083015"),
        ("2026-03-02", "20260302000000"),
        ("2026-03-02T08:30:00", "20260302083000"),
        ("2026-03-02T01:30:00Z", "20260302083000"),  # UTC → Vietnam time
        ("2026-03-02T08:30:00+07:00", "20260302083000"),
    ],
)
def test_accepted_date_formats(text: str, compact: str) -> None:
    assert normalise_date(text) == compact


@pytest.mark.parametrize("text", ["02-03-2026", "2026/03/02", "31/02/2026", "hôm qua"])
def test_other_dates_are_refused_naming_the_formats(text: str) -> None:
    with pytest.raises(ValueError, match="dd/MM/yyyy"):
        normalise_date(text)


def test_identical_rows_in_one_file_are_distinct_changes(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_text(
        "MaHoSo;MaTTHC;TrangThaiHoSo;NgayTiepNhan\n"
        + "".join(f"H-1;1.001193;{s};02/03/2026\n" for s in (2, 5, 2))
    )
    file = ExportFile(export)
    assert file.delimiter == ";"
    with SqliteOutbox(tmp_path / "o.db") as store:
        result = validate_rows(
            file.rows(), kind=Kind.dossiers, default_updating=True, force=False, store=store,
            header=file.header,
        )  # fmt: skip
        keys = [change.idempotency_key for _line, change in result.changes]
        assert len(set(keys)) == 3
        assert [int(status) for _key, status in result.statuses] == [2, 5, 2]
        again = validate_rows(
            ExportFile(export).rows(), kind=Kind.dossiers, default_updating=True, force=True,
            store=store,
        )  # fmt: skip
        assert [c.idempotency_key for _line, c in again.changes] == keys  # stable


def test_a_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_bytes(b"MaHoSo,MaTTHC\nH-1,1\nH-2,\xe9\n")
    with pytest.raises(ExportFileError, match="line 3, column 5") as caught:
        ExportFile(export)
    assert caught.value.hint is not None
    assert "--encoding" in caught.value.hint
