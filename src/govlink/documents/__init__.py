"""Official documents over the national document axis (VDXP) as signed edXML.

* :mod:`govlink.documents.edxml` — models, build, parse, validation (QCVN 102:2016);
* :mod:`govlink.documents._signing` — XML-DSig sign/verify of packages and statuses;
* :class:`DocumentClient` / :class:`AsyncDocumentClient` — the exchange (axis REST
  API or a provincial gateway) with a crash-safe receive loop.

Quick start::

    from govlink import GovLink
    from govlink.documents import EdxmlPackage, Attachment

    package = EdxmlPackage.new(sender="000.00.00.H47", recipients=["000.00.00.G22"],
                               subject="Về việc …", code_number="12", code_notation="UBND-VP")
    package.add_attachment(Attachment.from_file("quyet-dinh.pdf"))
    with GovLink.from_profile("mock") as gl:
        doc_id = gl.documents.send(package).doc_id
"""

from govlink.documents._receive import ReceivedDocument, ReceiveReport
from govlink.documents._signing import (
    PackageSigner,
    PackageVerifier,
    SignatureScope,
    VerifiedEdxml,
    signer_agency_code,
    signer_from_settings,
    verifier_from_settings,
)
from govlink.documents.client import AsyncDocumentClient, DocumentClient
from govlink.documents.edxml import (
    EDXML_NS,
    Attachment,
    Business,
    Code,
    DocumentType,
    EdxmlPackage,
    Manifest,
    ManifestReference,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    ToPlaces,
    TraceHeader,
    TraceHeaderList,
    build_package,
    build_status,
    check_package,
    check_status,
    package_issues,
    parse_edxml,
    parse_package,
    parse_status,
    validate_agency_code,
    validate_document_id,
)
from govlink.documents.models import (
    Agency,
    AxisReply,
    EdocSummary,
    SendResult,
    SentEdoc,
    SyncUnit,
)

__all__ = [
    "EDXML_NS",
    "Agency",
    "AsyncDocumentClient",
    "Attachment",
    "AxisReply",
    "Business",
    "Code",
    "DocumentClient",
    "DocumentType",
    "EdocSummary",
    "EdxmlPackage",
    "Manifest",
    "ManifestReference",
    "MessageHeader",
    "Organization",
    "OtherInfo",
    "PackageSigner",
    "PackageVerifier",
    "PromulgationInfo",
    "ReceiveReport",
    "ReceivedDocument",
    "ResponseFor",
    "SendResult",
    "SentEdoc",
    "SignatureScope",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusMessage",
    "SyncUnit",
    "ToPlaces",
    "TraceHeader",
    "TraceHeaderList",
    "VerifiedEdxml",
    "build_package",
    "build_status",
    "check_package",
    "check_status",
    "package_issues",
    "parse_edxml",
    "parse_package",
    "parse_status",
    "signer_agency_code",
    "signer_from_settings",
    "validate_agency_code",
    "validate_document_id",
    "verifier_from_settings",
]
