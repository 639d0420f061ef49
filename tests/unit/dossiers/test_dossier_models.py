"""Dossier models: wire names, Vietnam-time dates, open enums, masked reprs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError as PydanticValidationError

from govlink.core.clock import VN_TZ
from govlink.dossiers import (
    ApplicantType,
    Dossier,
    DossierStatus,
    ProgressRecord,
)

WIRE = {
    "MaHoSo": "H47.99-260302-000001",
    "MaTTHC": "1.001193",
    "TenTTHC": "Đăng ký khai sinh",
    "TrangThaiHoSo": "4",
    "NgayTiepNhan": "20260302080000",
    "NgayHenTra": "",
    "ChuHoSo": "NGUYỄN VĂN AN",
    "SoDienThoai": "0912345678",
    "SoGiayToChuHoSo": "001099012345",
    "LoaiDoiTuong": "1",
    "HinhThuc": "0",
    "HoSoCoThanhPhanSoHoa": "1",
    "TaiKhoanDuocXacThucVoiVNeID": "0",
    "DuocThanhToanTrucTuyen": "1",
    "NgayNopHoSo": "20260302075500",
    "TaiLieuNop": [
        {
            "TepDinhKemId": "f1",
            "TenTepDinhKem": "to-khai.pdf",
            "DuocSoHoa": "1",
            "DuocTaiSuDung": "0",
            "DuocLayTuKhoDMQG": "1",
            "MaKetQuaThayThe": "KQ-9",
        }
    ],
    "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "135000", "LoaiPhiLePhi": "1"}],
    "DanhSachGiayToKetQua": [{"TenGiayTo": "Giấy khai sinh", "MaGiayToKetQua": "KQ-1"}],
    "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "001099012345"}],
    "DSKetNoiCSDL": [{"MaCSDL": "CSDLQGDC"}],
    "TruongMoiCuaCong": "kept",
}


def test_wire_dossier_parses_into_typed_fields() -> None:
    dossier = Dossier.from_wire(WIRE)
    assert dossier.status is DossierStatus.PROCESSING
    assert dossier.received_at == datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)
    assert dossier.due_at is None  # empty string on the wire means "not set"
    assert dossier.applicant_type is ApplicantType.CITIZEN
    assert dossier.has_digitised_components is True
    assert dossier.vneid_verified is False
    assert dossier.submitted_documents is not None
    doc = dossier.submitted_documents[0]
    assert (doc.digitised, doc.reused, doc.from_national_repository) == (True, False, True)
    assert doc.replaces_result_code == "KQ-9"
    assert dossier.fees is not None
    assert dossier.fees[0].amount == 135000
    assert dossier.result_documents is not None
    assert dossier.result_documents[0].result_code == "KQ-1"
    assert dossier.owner_identifiers is not None
    assert dossier.owner_identifiers[0].number == "001099012345"
    assert dossier.connected_databases is not None
    assert dossier.connected_databases[0].database_code == "CSDLQGDC"


def test_round_trip_keeps_wire_names_strings_and_unknown_fields() -> None:
    wire = Dossier.from_wire(WIRE).to_wire()
    assert wire["TrangThaiHoSo"] == "4"
    assert wire["NgayTiepNhan"] == "20260302080000"
    assert wire["HoSoCoThanhPhanSoHoa"] == "1"
    assert wire["DanhSachLePhi"][0]["Gia"] == "135000"
    assert wire["TruongMoiCuaCong"] == "kept"
    assert "NgayHenTra" not in wire  # unset fields are not sent
    assert "QuaTrinhXuLy" not in wire


def test_dates_are_sent_in_vietnam_time_whatever_the_zone() -> None:
    dossier = Dossier(
        ma_ho_so="HS-1",
        procedure_code="1.001193",
        status=1,
        received_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )
    assert dossier.to_wire()["NgayTiepNhan"] == "20260302080000"


def test_naive_datetimes_and_bad_dates_are_refused() -> None:
    with pytest.raises(PydanticValidationError, match="naive datetime"):
        Dossier(
            ma_ho_so="HS-1", procedure_code="1.001193", status=1, received_at=datetime(2026, 3, 2)
        )
    with pytest.raises(PydanticValidationError, match="yyyyMMddHHmmss"):
        Dossier.from_wire({**WIRE, "NgayTiepNhan": "2026-03-02"})
    with pytest.raises(PydanticValidationError, match="real date"):
        Dossier.from_wire({**WIRE, "NgayTiepNhan": "20261302080000"})


def test_missing_required_fields_are_refused() -> None:
    with pytest.raises(PydanticValidationError) as caught:
        Dossier.from_wire({"MaHoSo": "HS-1"})
    missing = {err["loc"][0] for err in caught.value.errors()}
    assert missing == {"MaTTHC", "TrangThaiHoSo", "NgayTiepNhan"}


def test_status_enum_is_open_and_labelled() -> None:
    assert DossierStatus(10).label_vi == "Đã trả kết quả"
    assert DossierStatus("5").label_en == "supplement requested"
    unknown = DossierStatus(42)
    assert int(unknown) == 42
    assert not unknown.known
    assert unknown.label_en == "unknown (42)"
    dossier = Dossier.from_wire({**WIRE, "TrangThaiHoSo": "42"})
    assert dossier.to_wire()["TrangThaiHoSo"] == "42"
    assert {int(s) for s in DossierStatus} == set(range(1, 11))
    assert all(s.label_vi and s.label_en for s in DossierStatus)


def test_repr_masks_personal_data() -> None:
    text = repr(Dossier.from_wire(WIRE))
    assert "NGUYỄN VĂN AN" not in text
    assert "0912345678" not in text
    assert "001099012345" not in text
    assert "H47.99-260302-000001" in text  # the dossier code is not personal


def test_progress_record_wire_form() -> None:
    record = ProgressRecord(
        ma_ho_so="HS-1",
        handler="Trần Thị B",
        handled_at=datetime(2026, 3, 2, 9, 30, tzinfo=VN_TZ),
        status=DossierStatus.PROCESSING,
        department="Phòng Tư pháp",
    )
    assert record.to_wire() == {
        "MaHoSo": "HS-1",
        "NguoiXuLy": "Trần Thị B",
        "ThoiDiemXuLy": "20260302093000",
        "TrangThai": "4",
        "PhongBanXuLy": "Phòng Tư pháp",
    }
