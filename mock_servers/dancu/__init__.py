"""Mock of the national population database lookup (PLATFORMS.md §4), SOAP 1.1.

Mounted under ``/dancu``: ``POST /dancu/CongDanService`` answers the six operations
(``TraCuuThongTinCongDan``, ``XacThucThongTinCongDan``, ``XacMinhThongTinNhanThan``,
``CungCapThongTinHoGiaDinh``, ``XacMinhTinhTrangHonNhan``, ``GetRequestStatus``) from
the seeded citizens; ``POST /dancu/gateway/{operation}`` is the provincial gateway's
JSON variant; ``GET /dancu/CongDanService?wsdl`` serves the WSDL the govlink client
ships (schema inline, ``soap:address`` pointing here), so any SOAP toolkit can call
the mock from the WSDL URL alone.

Replies and faults are written with lxml, independently of the client's zeep
code, so each side checks the other. Faults carry ``LoiDichVu{MaLoi, MoTaLoi,
MaYeuCau}`` in their detail (codes in :data:`FAULTS`); credentials are checked on
every call (see :mod:`mock_servers.dancu.auth`). Switches: ``force_fault`` (a MaLoi
code returned for every call), ``timestamp_tolerance`` (seconds), ``require_auth``,
``reply_shape`` (``wsdl``/``td``), ``record_order``.
"""

from __future__ import annotations

from mock_servers.dancu.platform import FAULTS, SERVICE_PATH, DanCuPlatform, create_platform

__all__ = ["FAULTS", "SERVICE_PATH", "DanCuPlatform", "create_platform"]
