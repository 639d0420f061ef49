"""Keys from the mock's test PKI and a sample package, shared by the documents tests."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from govlink.core.clock import VN_TZ
from govlink.documents import Attachment, EdxmlPackage

PKI = Path(__file__).resolve().parents[3] / "mock_servers" / "vdxp" / "pki"
AGENCY_A = "000.00.00.H47"
AGENCY_B = "000.00.00.G22"


def sample_package(attachment: bytes = b"%PDF-1.4 sample") -> EdxmlPackage:
    package = EdxmlPackage.new(
        sender=AGENCY_A,
        recipients=[AGENCY_B],
        subject="Về việc triển khai liên thông văn bản",
        code_number="7816",
        code_notation="VPCP-TTĐT",
        promulgation_date=date(2015, 9, 30),
        place="Hà Nội",
        timestamp=datetime(2026, 1, 2, 9, 30, tzinfo=VN_TZ),
    )
    package.add_attachment(
        Attachment.from_bytes(attachment, name="cong-van.pdf", content_type="application/pdf")
    )
    return package
