"""The DVCQG mock speaks the portal's wire format and refuses what the portal refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from govlink.testing._handle import MockHandle

GOOD = {
    "MaHoSo": "HS-1",
    "MaTTHC": "1.001193",
    "TrangThaiHoSo": "1",
    "NgayTiepNhan": "20260302080000",
}


SHARE = {"LayDanhSachTTHC", "LayDanhMucCoQuan", "LayDanhMucLinhVuc", "TraCuuTechID"}


class Portal:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base_url}/dvcqg", timeout=10, headers={"dstcode": "000.00.00.H47"}
        )
        self.session = self.login("govlink-demo", "demo-password")["session"]

    def login(self, username: str, password: str) -> dict[str, Any]:
        reply = self.http.post("/auth", json={"username": username, "password": password})
        assert reply.status_code == 200
        return reply.json()

    def call(self, service: str, **fields: Any) -> dict[str, Any]:
        body = {"session": self.session, "madonvi": "000.00.00.H47", "service": service, **fields}
        endpoint = "/share" if service in SHARE else "/integration"
        reply = self.http.post(endpoint, json=body)
        assert reply.status_code == 200
        return reply.json()


@pytest.fixture
def portal(govlink_mock: MockHandle) -> Portal:
    client = Portal(govlink_mock.base_url)
    yield client
    client.http.close()


def test_login(portal: Portal) -> None:
    assert portal.login("govlink-demo", "wrong")["error_code"] == "01"
    ok = portal.login("govlink-demo", "demo-password")
    assert ok["error_code"] == 0
    assert ok["session"]


def test_request_level_errors(portal: Portal, govlink_mock: MockHandle) -> None:
    assert portal.call("KhongCo")["error_code"] == "03"
    assert portal.call("DongBoHoSoMC", data="not a list")["error_code"] == "04"
    reply = portal.http.post("/integration", content=b"{oops")
    assert reply.json()["error_code"] == "04"
    portal.session = "forged"
    assert portal.call("LayDanhSachTTHC")["error_code"] == "02"


def test_sessions_expire_by_the_virtual_clock(portal: Portal, govlink_mock: MockHandle) -> None:
    assert portal.call("LayDanhSachTTHC")["error_code"] == "00"
    govlink_mock.switch("dossiers", session_ttl=60)
    portal.session = portal.login("govlink-demo", "demo-password")["session"]
    govlink_mock.advance_clock(61)
    assert portal.call("LayDanhSachTTHC")["error_code"] == "02"


def test_busy_switch_answers_the_transient_code(portal: Portal, govlink_mock: MockHandle) -> None:
    govlink_mock.switch("dossiers", busy=True)
    assert portal.call("LayDanhSachTTHC")["error_code"] == "99"


@pytest.mark.parametrize(
    ("change", "code", "mentions"),
    [
        ({"NgayTiepNhan": ""}, "11", "NgayTiepNhan"),
        ({"MaTTHC": None}, "11", "MaTTHC"),
        ({"MaTTHC": "9.999999"}, "12", "9.999999"),
        ({"NgayTiepNhan": "2026-03-02 08:00"}, "13", "NgayTiepNhan"),
        ({"NgayHenTra": "20260231080000"}, "13", "NgayHenTra"),  # no 31 February
        ({"NgayHenTra": "20230229080000"}, "13", "NgayHenTra"),  # 2023 is not a leap year
        ({"NgayTra": "20260302246000"}, "13", "NgayTra"),  # hour 24
        ({"TrangThaiHoSo": "bốn"}, "14", "TrangThaiHoSo"),
        ({"LoaiDoiTuong": "5"}, "14", "LoaiDoiTuong"),  # 1-4 are real ([OC], [TD])
        ({"TaiLieuNop": "x"}, "14", "TaiLieuNop"),
    ],
)
def test_item_validation_like_the_portal(
    portal: Portal, change: dict[str, Any], code: str, mentions: str
) -> None:
    reply = portal.call(
        "DongBoHoSoMC",
        isUpdating="False",
        data=[
            {**GOOD, "MaHoSo": "HS-0", "IdempotencyKey": "a"},
            {**GOOD, **change, "IdempotencyKey": "b"},
        ],
    )
    assert reply["error_code"] == "10"
    first, second = reply["result"]
    assert first["error_code"] == "00"
    assert second["error_code"] == code
    assert second["IdempotencyKey"] == "b"
    assert mentions in second["message"]


def test_real_dates_pass(portal: Portal) -> None:
    leap = {**GOOD, "NgayHenTra": "20240229235959", "NgayTra": "", "NgayTuChoi": None}
    assert portal.call("DongBoHoSoMC", data=[leap])["error_code"] == "00"


def test_progress_needs_a_known_dossier_and_lookup_returns_it(portal: Portal) -> None:
    step = {"MaHoSo": "HS-1", "NguoiXuLy": "A", "ThoiDiemXuLy": "20260302090000", "TrangThai": "2"}
    assert portal.call("CapNhatTienDoHoSoMC", data=[step])["result"][0]["error_code"] == "15"
    assert portal.call("DongBoHoSoMC", data=[GOOD])["error_code"] == "00"
    assert portal.call("CapNhatTienDoHoSoMC", data=[step])["error_code"] == "00"
    found = portal.call("TraCuuHoSo", mahoso="HS-1")["result"][0]
    assert found["MaTTHC"] == "1.001193"
    assert found["QuaTrinhXuLy"] == [step]
    assert portal.call("TraCuuHoSo", mahoso="HS-404")["error_code"] == "15"


def test_duplicates_are_counted_not_applied(portal: Portal, govlink_mock: MockHandle) -> None:
    item = {**GOOD, "IdempotencyKey": "key-1"}
    portal.call("DongBoHoSoMC", data=[item])
    again = portal.call("DongBoHoSoMC", data=[{**item, "TrangThaiHoSo": "2"}])
    assert again["result"][0]["duplicate"] is True
    summary = govlink_mock.state()["dossiers"]
    assert summary["duplicate_deliveries"] == 1
    assert summary["keys_delivered_more_than_once"] == 1
    assert summary["changes_applied"] == 1
    assert summary["by_status"] == {"1": 1}  # the duplicate did not overwrite the dossier
    assert summary["recent"][0]["MaHoSo"] == "HS-1"


def test_reset_forgets_everything(portal: Portal, govlink_mock: MockHandle) -> None:
    portal.call("DongBoHoSoMC", data=[{**GOOD, "IdempotencyKey": "k"}])
    govlink_mock.reset()
    summary = govlink_mock.state()["dossiers"]
    assert summary["dossiers"] == 0
    assert summary["idempotency_keys"] == 0


def test_state_file_survives_a_restart(tmp_path: Any) -> None:
    from mock_servers.server import MockServer

    state = tmp_path / "mock.db"
    with MockServer(state_path=state) as first:
        portal = Portal(first.base_url)
        portal.call("DongBoHoSoMC", data=[{**GOOD, "IdempotencyKey": "k1"}])
        portal.call("DongBoHoSoMC", data=[{**GOOD, "TrangThaiHoSo": "2", "IdempotencyKey": "k2"}])
        portal.http.close()
    with MockServer(state_path=state) as second:
        portal = Portal(second.base_url)
        assert portal.call("TraCuuHoSo", mahoso="HS-1")["result"][0]["TrangThaiHoSo"] == "2"
        again = portal.call("DongBoHoSoMC", data=[{**GOOD, "IdempotencyKey": "k1"}])
        assert again["result"][0]["duplicate"] is True  # keys remembered across restarts
        portal.http.close()


def test_unknown_parameter_names_count_as_missing(portal: Portal) -> None:
    """The portal reads ``mahoso`` and ``maTTHC`` [OC]; an invented spelling fails here."""
    assert portal.call("DongBoHoSoMC", data=[GOOD])["error_code"] == "00"
    assert portal.call("TraCuuHoSo", MaHoSo="HS-1")["error_code"] == "04"
    assert portal.call("TraCuuHoSo", mahoso="HS-1")["result"][0]["MaHoSo"] == "HS-1"
    assert portal.call("LayThuTuc", MaTTHC="1.001193")["error_code"] == "04"
    one = portal.call("LayThuTuc", maTTHC="1.001193")["result"][0]
    assert one["MATTHC"] == "1.001193"
    assert one["LINHVUCTHUCHIEN"][0]["MALINHVUC"]


def test_catalogues_answer_with_upper_case_keys_on_the_share_endpoint(portal: Portal) -> None:
    agencies = portal.call("LayDanhMucCoQuan")["result"]
    assert {"MADONVI", "TENDONVI", "CAPDONVI"} <= set(agencies[0])
    fields = portal.call("LayDanhMucLinhVuc")["result"]
    assert {"MALINHVUC", "TENLINHVUC", "MANGANH"} <= set(fields[0])
    assert {"MATTHC", "TENTTHC"} <= set(portal.call("LayDanhSachTTHC")["result"][0])
    # a sharing service sent to the integration endpoint is not found there, and back
    body = {"session": portal.session, "madonvi": "000.00.00.H47", "service": "LayDanhSachTTHC"}
    assert portal.http.post("/integration", json=body).json()["error_code"] == "03"
    body = {**body, "service": "DongBoHoSoMC", "data": [GOOD]}
    assert portal.http.post("/share", json=body).json()["error_code"] == "03"


def test_dstcode_header_is_needed_on_every_call(portal: Portal) -> None:
    body = {"session": portal.session, "madonvi": "000.00.00.H47", "service": "TraCuuHoSo"}
    bare = httpx.post(f"{portal.http.base_url}integration", json={**body, "mahoso": "HS-1"})
    assert bare.json()["error_code"] == "04"
    login = httpx.post(
        f"{portal.http.base_url}auth",
        json={"username": "govlink-demo", "password": "demo-password"},
    )
    assert login.json()["error_code"] == "01"


def test_create_of_a_known_dossier_and_update_of_an_unknown_one_are_refused(
    portal: Portal,
) -> None:
    """``isUpdating`` as the public clients send it ("True"/"False" strings, [OC])."""
    new = {**GOOD, "MaHoSo": "HS-NEW"}
    update = portal.call("DongBoHoSoMC", isUpdating="True", data=[new])
    assert update["result"][0]["error_code"] == "15"
    assert portal.call("DongBoHoSoMC", isUpdating="False", data=[new])["error_code"] == "00"
    again = portal.call("DongBoHoSoMC", isUpdating="False", data=[new])
    assert again["result"][0]["error_code"] == "3"
    assert "đã tồn tại" in again["result"][0]["message"]
    assert portal.call("DongBoHoSoMC", isUpdating="True", data=[new])["error_code"] == "00"


def test_the_proxy_takes_bare_arrays_without_session(portal: Portal) -> None:
    item = {**GOOD, "MaHoSo": "HS-PROXY"}
    created = portal.http.post("/proxy/create", json=[item]).json()
    assert created == {"error_code": "0", "message": "Đồng bộ thành công"}
    exists = portal.http.post("/proxy/create", json=[item]).json()
    assert exists["error_code"] == "3"
    assert "đã tồn tại" in exists["message"]
    assert portal.http.post("/proxy/update", json=[item]).json()["error_code"] == "0"
    step = {
        "MaHoSo": "HS-PROXY",
        "NguoiXuLy": "A",
        "ThoiDiemXuLy": "20260302090000",
        "TrangThai": "2",
    }
    assert portal.http.post("/proxy/progress", json=[step]).json()["error_code"] == "0"


def test_expired_sessions_are_pruned(portal: Portal, govlink_mock: MockHandle) -> None:
    govlink_mock.switch("dossiers", session_ttl=60)
    for _ in range(3):
        portal.login("govlink-demo", "demo-password")
    govlink_mock.advance_clock(61)
    portal.session = portal.login("govlink-demo", "demo-password")["session"]
    # the three expired ones are gone; the fixture's own (longer) session remains
    assert govlink_mock.state()["dossiers"]["active_sessions"] == 2


def test_questions_answers_and_statistics_round_trip(
    portal: Portal, govlink_mock: MockHandle
) -> None:
    questions = portal.call("LayDanhSachHoiDapGuiTuDVCQG")["result"]
    first = questions[0]["HOIDAPID"]
    assert portal.call("LayNoiDungTraLoiTheoCauHoi", cauhoiid=first)["result"] == []
    answer = {"HOIDAPID": str(first), "NOIDUNGTRALOI": "Trả lời", "NGAYTRALOI": "2026-03-05"}
    assert portal.call("DongBoKetQuaHoiDapGuiTuDVCQG", data=[answer])["error_code"] == "13"
    answer["NGAYTRALOI"] = "05/03/2026"
    assert portal.call("DongBoKetQuaHoiDapGuiTuDVCQG", data=[answer])["error_code"] == "00"
    found = portal.call("LayNoiDungTraLoiTheoCauHoi", cauhoiid=first)["result"]
    assert [a["NOIDUNGTRALOI"] for a in found] == ["Trả lời"]
    ministry = portal.call("LayDanhSachHoiDapBoCoQuan")["result"]
    assert {q["HOIDAPID"] for q in ministry}.isdisjoint({q["HOIDAPID"] for q in questions})
    stats = {"NgayTongHop": "2026-03", "PhanTramDanhGiaHaiLong": "30%"}
    assert portal.call("DongBoDanhGia", data=[stats])["error_code"] == "14"
    stats["NgayTongHop"] = "3-2026"
    assert portal.call("DongBoDanhGia", data=[stats])["error_code"] == "00"
    status = {"MaHoSo": "G22-1", "NgayXuLy": "20260301090000", "TrangThai": "2"}
    assert portal.call("DongBoTrangThaiHoSo", data=status)["error_code"] == "04"  # no type
    assert portal.call("DongBoTrangThaiHoSo", type="2", data=status)["error_code"] == "00"
    summary = govlink_mock.state()["dossiers"]
    assert (summary["answers_pushed"], summary["satisfaction_reports"]) == (1, 1)
    assert summary["promotion_statuses"] == 1
