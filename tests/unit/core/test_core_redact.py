"""Masking of personal data in free text, mappings, exceptions and log records."""

from __future__ import annotations

import logging

import pytest

from govlink.core.errors import PlatformError, ValidationError
from govlink.core.redact import (
    install_log_redaction,
    is_masking,
    mask_value,
    redact_mapping,
    redact_text,
    unmasked,
)


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("CCCD 001234567890 không tồn tại", "001234567890", "*********890"),
        ("CMND 123456789 cũ", "123456789", "******789"),
        ("gọi 0912345678 ngay", "0912345678", "*******678"),
        ("gọi +84912345678 ngay", "912345678", "*******678"),
        ("mail nguyen.van.an@example.vn", "nguyen.van.an@", "n***@example.vn"),
    ],
)
def test_free_text_masks_ids_phones_and_emails(text: str, hidden: str, kept: str) -> None:
    masked = redact_text(text)
    assert hidden not in masked
    assert kept in masked


def test_other_numbers_are_left_alone() -> None:
    # dossier codes, amounts, timestamps and 10+ digit runs that are not phones stay
    text = "MaHoSo 000.00.00.H47-250101-0001 SoTien 150000 at 20260101120000 ref 12345678901234"
    assert redact_text(text) == text


def test_mapping_masks_known_fields_by_wire_and_python_name() -> None:
    data = {
        "MaHoSo": "H47-1",
        "HoVaTen": "NGUYỄN VĂN AN",
        "NgayThangNamSinh": "19900101",
        "ThuongTru": {"MaTinhThanh": "79", "ChiTiet": "12 Lê Lợi"},
        "full_name": "Trần Thị Bình",
        "items": [{"SoDinhDanh": "001234567890"}, {"note": "gọi 0912345678"}],
    }
    masked = redact_mapping(data)
    assert masked["MaHoSo"] == "H47-1"
    assert masked["HoVaTen"] == "N***"
    assert masked["NgayThangNamSinh"] == "*****101"
    assert masked["ThuongTru"] == {"MaTinhThanh": "***", "ChiTiet": "1***"}
    assert masked["full_name"] == "T***"
    assert masked["items"][0]["SoDinhDanh"] == "*********890"
    assert "0912345678" not in masked["items"][1]["note"]
    assert data["HoVaTen"] == "NGUYỄN VĂN AN"  # the input is not modified


def test_unmasked_block_shows_data_and_restores_masking() -> None:
    with unmasked():
        assert not is_masking()
        assert redact_text("001234567890") == "001234567890"
        assert mask_value("NGUYỄN") == "NGUYỄN"
    assert is_masking()
    assert redact_text("001234567890") != "001234567890"


def test_exceptions_mask_their_messages() -> None:
    error = PlatformError("no citizen 001234567890", code="404")
    assert "001234567890" not in str(error)
    assert "001234567890" not in repr(error)
    invalid = ValidationError("so_dinh_danh", "12 digits", got="00123456789012345")
    assert "12 digits" in str(invalid)


def test_log_filter_masks_foreign_loggers(caplog: pytest.LogCaptureFixture) -> None:
    name = "third.party.lib"
    install_log_redaction(name)
    install_log_redaction(name)  # idempotent
    logger = logging.getLogger(name)
    assert len(logger.filters) == 1
    caplog.set_level(logging.INFO, logger=name)
    logger.info("GET /citizens?id=%s", "001234567890")
    with unmasked():
        logger.info("audited %s", "001234567891")
    messages = [r.getMessage() for r in caplog.records]
    assert "001234567890" not in messages[0]
    assert "*********890" in messages[0]
    assert "001234567891" in messages[1]
    logger.removeFilter(logger.filters[0])
