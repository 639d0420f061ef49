"""Helpers for the population-database unit tests: settings and hand-written replies.

The replies are literal XML written by hand (shaped like the public Thanh Hoá
integration's records, PLATFORMS.md §4), so the client's reading is checked against
something the mock did not produce.
"""

from __future__ import annotations

from govlink.core.config import GovLinkSettings

BASE = "http://dancu.test/dancu"
ENDPOINT = f"{BASE}/CongDanService"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://dancuquocgia.bca"


def make_settings(**citizens: object) -> GovLinkSettings:
    """Settings pointing at BASE with fast retries; ``citizens`` overrides the section."""
    section: dict[str, object] = {
        "base_url": BASE,
        "auth": {
            "style": "hashed_basic",
            "username": "govlink-demo",
            "client_secret": "demo-dancu-secret",
        },
    }
    section.update(citizens)
    return GovLinkSettings.load(
        citizens=section,
        gateway={"base_url": "http://gateway.test/gateway"},
        http={"max_retries": 2, "backoff_initial": 0, "backoff_max": 0},
    )


def reply(operation: str, inner: str, *, wrapper: bool = True) -> bytes:
    """A reply to ``operation``: ``inner`` inside its ``…Response`` wrapper, or straight in
    the Body."""
    if not wrapper:
        return envelope(inner)
    return envelope(f'<{operation}Response xmlns="{NS}">{inner}</{operation}Response>')


def envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{ENV}">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


CONG_DAN = """
<CongDan>
  <HoVaTen><Ho>NGUYỄN</Ho><ChuDem>VĂN</ChuDem><Ten>AN</Ten></HoVaTen>
  <NgayThangNamSinh><Nam>1985</Nam><NgayThangNam>19850312</NgayThangNam></NgayThangNamSinh>
  <SoDinhDanh>001085000001</SoDinhDanh>
  <GioiTinh>Nam</GioiTinh>
  <DanToc>Kinh</DanToc>
  <TonGiao>Không</TonGiao>
  <QuocTich>Việt Nam</QuocTich>
  <ThuongTru><MaTinhThanh>01</MaTinhThanh><MaQuanHuyen>001</MaQuanHuyen>
    <MaPhuongXa>00001</MaPhuongXa><ChiTiet>Số 1 ngõ Mẫu, Ba Đình, Hà Nội</ChiTiet></ThuongTru>
  <Cha><HoVaTen>NGUYỄN VĂN BẢY</HoVaTen><SoDinhDanh>034055000011</SoDinhDanh></Cha>
  <ChuHo><QuanHe>Chủ hộ</QuanHe><HoVaTen>NGUYỄN VĂN AN</HoVaTen>
    <SoDinhDanh>001085000001</SoDinhDanh></ChuHo>
  <SoSoHoKhau>010000001</SoSoHoKhau>
  <TinhTrangHonNhan>Đã kết hôn</TinhTrangHonNhan>
  <NgayCapCCCD><Ngay>20210101</Ngay><NoiCap>Cục CS QLHC về TTXH</NoiCap></NgayCapCCCD>
</CongDan>
"""


def lookup_reply(request_id: str = "req-1", records: str = CONG_DAN) -> bytes:
    return envelope(
        f'<TraCuuThongTinCongDanResponse xmlns="{NS}"><MaYeuCau>{request_id}</MaYeuCau>'
        f"<CongdanCollection>{records}</CongdanCollection></TraCuuThongTinCongDanResponse>"
    )


def verify_reply(matches: bool, *fields: str) -> bytes:
    listed = "".join(f"<TruongKhongKhop>{f}</TruongKhongKhop>" for f in fields)
    block = f"<DanhSachTruongKhongKhop>{listed}</DanhSachTruongKhongKhop>" if fields else ""
    return envelope(
        f'<XacThucThongTinCongDanResponse xmlns="{NS}"><MaYeuCau>r</MaYeuCau>'
        f"<KetQua>{'true' if matches else 'false'}</KetQua>{block}"
        "</XacThucThongTinCongDanResponse>"
    )


def fault(code: str, text: str = "Lỗi", faultcode: str = "soap:Client") -> bytes:
    return envelope(
        f"<soap:Fault><faultcode>{faultcode}</faultcode><faultstring>{text}</faultstring>"
        f'<detail><LoiDichVu xmlns="{NS}"><MaLoi>{code}</MaLoi><MoTaLoi>{text}</MoTaLoi>'
        "</LoiDichVu></detail></soap:Fault>"
    )
