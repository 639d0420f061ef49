"""Real-world packages parse: mixed prefixes, odd order, missing parts, unknowns kept."""

from __future__ import annotations

import base64
from datetime import date, datetime

import pytest

from govlink.core.clock import VN_TZ
from govlink.core.xml import XmlRejectedError
from govlink.documents import StatusCode
from govlink.documents.edxml import (
    EDXML_NS,
    build_package,
    package_issues,
    parse_edxml,
    parse_package,
    parse_status,
)

PDF = b"%PDF-1.4 real-world attachment " * 20
WRAPPED = "\n".join(base64.b64encode(PDF).decode()[i : i + 76] for i in range(0, 1000, 76))

# Shaped like public integrations: root with default namespace, envelope with the
# edXML: prefix, DocumentId last, xlink attributes on the manifest reference, the
# attachment children in another order, base64 wrapped at 76 columns, a vendor
# element, and a <Signature> with no namespace declaration of its own.
REAL_WORLD = f"""<?xml version="1.0" encoding="utf-8"?>
<edXML xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName>
        </edXML:From>
        <edXML:To><edXML:OrganId>001.00.10.H47</edXML:OrganId></edXML:To>
        <To><OrganId>000.00.00.H47</OrganId></To>
        <edXML:Code>
          <edXML:CodeNumber>7816</edXML:CodeNumber>
          <edXML:CodeNotation>VPCP-TTĐT</edXML:CodeNotation>
        </edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:Place>Hà Nội</edXML:Place>
          <edXML:PromulgationDate>2015/09/30</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:Subject>Về việc triển khai Trục liên thông văn bản quốc gia</edXML:Subject>
        <edXML:DueDate>30-10-2015</edXML:DueDate>
        <edXML:SteeringType>0</edXML:SteeringType>
        <vendor:Priority xmlns:vendor="urn:vendor">high</vendor:Priority>
        <edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList id="a1b2c3d4" version="1.0" mustUnderstand="1">
        <edXML:TraceHeader>
          <edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:Timestamp>2015/09/30 14:05:06</edXML:Timestamp>
        </edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:StaffInfo><edXML:Staff>Nguyễn Văn A</edXML:Staff></edXML:StaffInfo>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
      <Signature><SignedInfo/><SignatureValue>AAAA</SignatureValue></Signature>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference xmlns:xlink="http://www.w3.org/1999/xlink"
            xlink:href="cid:att-1" xlink:type="simple">
          <edXML:Description>Văn bản</edXML:Description>
          <edXML:AttachmentName>7816-VPCP.pdf</edXML:AttachmentName>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:ContentId>cid:att-1</edXML:ContentId>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentType>application/pdf</ContentType>
      <ContentId>att-1</ContentId>
      <ContentTransferEncoded>{WRAPPED}</ContentTransferEncoded>
      <AttachmentName>7816-VPCP.pdf</AttachmentName>
    </Attachment>
  </AttachmentEncoded>
</edXML>""".encode()


def test_real_world_package_fields_are_read() -> None:
    package = parse_package(REAL_WORLD)
    header = package.message_header
    assert package.sender == "000.00.00.G22"
    assert package.recipients == ["001.00.10.H47", "000.00.00.H47"]  # unprefixed To too
    assert header.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert header.code is not None
    assert header.code.code_notation == "VPCP-TTĐT"
    assert header.promulgation_info is not None
    assert header.promulgation_info.promulgation_date == date(2015, 9, 30)
    assert header.due_date == "30-10-2015"  # an odd date is kept as sent, not guessed
    trace = package.trace_header_list
    assert trace is not None
    assert trace.attributes["id"] == "a1b2c3d4"
    assert trace.trace_header[0].timestamp == datetime(2015, 9, 30, 14, 5, 6, tzinfo=VN_TZ)
    assert trace.business is not None
    assert trace.business.staff_info is not None
    assert trace.business.staff_info.staff == "Nguyễn Văn A"


def test_unknown_elements_and_attributes_are_kept() -> None:
    package = parse_package(REAL_WORLD)
    assert package.message_header.unknown_elements == [
        '<Priority xmlns="urn:vendor">high</Priority>'
    ]
    reference = package.manifest.reference[0]  # type: ignore[union-attr]
    assert reference.attributes["{http://www.w3.org/1999/xlink}href"] == "cid:att-1"
    rebuilt = parse_package(build_package(package))
    assert rebuilt.message_header.unknown_elements == package.message_header.unknown_elements
    assert rebuilt.manifest == package.manifest


def test_attachment_decoded_lazily_from_wrapped_base64() -> None:
    package = parse_package(REAL_WORLD)
    (attachment,) = package.attachments
    assert attachment.content_id == "att-1"
    assert attachment.attachment_name == "7816-VPCP.pdf"
    assert attachment.read_bytes() == PDF[: len(base64.b64decode("".join(WRAPPED.split())))]
    # manifest says cid:att-1, attachment says att-1: the same attachment
    assert package_issues(package) == []


def test_signature_without_namespace_is_found_and_reported() -> None:
    parsed = parse_edxml(REAL_WORLD)
    try:
        assert parsed.signature is not None
        assert parsed.signature.found_as == "edxml-namespace"
        assert parsed.signature.location == "header"
        assert "default namespace" in parsed.signature.description
        # the signature is never mistaken for an unknown header element
        assert parsed.package is not None
        assert parsed.package.header_unknown == []
    finally:
        parsed.close()


def test_minimal_package_with_everything_optional_missing() -> None:
    minimal = (
        f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>'
        "<Subject>Chỉ có trích yếu</Subject></MessageHeader></edXMLHeader>"
        "</edXMLEnvelope></edXML>"
    ).encode()
    package = parse_package(minimal)
    assert package.message_header.subject == "Chỉ có trích yếu"
    assert package.sender is None
    assert package.attachments == []
    assert package.trace_header_list is None
    assert package.manifest is None


def test_envelope_as_root_and_no_namespace_elements() -> None:
    bare = (
        b"<edXMLEnvelope><edXMLHeader><MessageHeader><From><OrganId>000.00.00.G22</OrganId>"
        b"</From><Subject>x</Subject></MessageHeader></edXMLHeader></edXMLEnvelope>"
    )
    assert parse_package(bare).sender == "000.00.00.G22"


def test_not_edxml_is_refused_with_the_reason() -> None:
    with pytest.raises(XmlRejectedError, match="not an edXML document"):
        parse_package(b"<html><body/></html>")


def test_status_message_parse_and_kind() -> None:
    status = (
        f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><Status>'
        "<ResponseFor><OrganId>000.00.00.H47</OrganId><DocumentId>000.00.00.H47,2026/01/02,"
        "1/UBND</DocumentId></ResponseFor><From><OrganId>000.00.00.G22</OrganId></From>"
        "<StatusCode>17</StatusCode><Description>mã mới</Description>"
        "<Timestamp>2026/01/03 08:00:00</Timestamp></Status></edXMLHeader></edXMLEnvelope>"
        "</edXML>"
    ).encode()
    parsed = parse_edxml(status)
    assert parsed.kind == "status"
    message = parse_status(status)
    assert message.status_code is not None
    assert message.status_code.value == "17"
    assert message.from_ is not None
    assert message.from_.organ_id == "000.00.00.G22"
    with pytest.raises(XmlRejectedError, match="status message"):
        parse_package(status)


# The status fields directly under MessageHeader, as one public Bkav sample writes a
# "being handled" (05) status; the wrapper is <edXML> in the default namespace.
STATUS_UNDER_MESSAGE_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <e:edXMLEnvelope xmlns:e="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <e:edXMLHeader>
      <e:MessageHeader>
        <e:From><e:OrganId>000.00.00.H41</e:OrganId><e:OrganName>UBND</e:OrganName></e:From>
        <e:ResponseFor>
          <e:OrganId>000.00.00.G22</e:OrganId>
          <e:Code>12/VPCP-TTĐT</e:Code>
          <e:PromulgationDate>2015/09/30</e:PromulgationDate>
          <e:DocumentId>000.00.00.G22,2015/09/30,12/VPCP-TTĐT</e:DocumentId>
        </e:ResponseFor>
        <e:StaffInfo><e:Department>Văn thư</e:Department><e:Staff>A</e:Staff></e:StaffInfo>
        <e:StatusCode>05</e:StatusCode>
        <e:Description>Đang xử lý</e:Description>
        <e:Timestamp>2015/09/20 11:08:36</e:Timestamp>
      </e:MessageHeader>
    </e:edXMLHeader>
  </e:edXMLEnvelope>
</edXML>
"""


def test_status_fields_under_message_header_are_read() -> None:
    parsed = parse_edxml(STATUS_UNDER_MESSAGE_HEADER.encode())
    assert parsed.kind == "status"
    status = parsed.status
    assert status is not None
    assert status.status_code is StatusCode.IN_PROGRESS
    assert status.from_ is not None
    assert status.from_.organ_id == "000.00.00.H41"
    assert status.response_for is not None
    assert status.response_for.organ_id == "000.00.00.G22"
    assert status.description == "Đang xử lý"
    assert status.header_unknown == []
    direct = parse_status(STATUS_UNDER_MESSAGE_HEADER.encode())
    assert direct.status_code is StatusCode.IN_PROGRESS
