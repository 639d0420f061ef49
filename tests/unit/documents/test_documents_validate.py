"""Validation errors name the field; manifest and attachments must agree."""

from __future__ import annotations

import pytest
from documents_fixtures import sample_package

from govlink.core.errors import ValidationError
from govlink.documents.edxml import (
    Attachment,
    EdxmlPackage,
    ManifestReference,
    check_package,
    is_agency_code,
    package_issues,
    validate_agency_code,
    validate_document_id,
)


@pytest.mark.parametrize("code", ["000.00.00.G22", "001.00.10.H47", "000.00.00.H47"])
def test_agency_codes_accepted(code: str) -> None:
    assert is_agency_code(code)
    assert validate_agency_code(code) == code


@pytest.mark.parametrize("code", ["000.00.00.g22", "00.00.00.G22", "000-00-00-G22", "", None])
def test_bad_agency_code_names_the_field(code: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_agency_code(code, "recipient")
    assert caught.value.field == "recipient"
    assert "000.00.00.G22" in caught.value.expected


def test_document_id_forms() -> None:
    good = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert validate_document_id(good) == good
    for bad in ("7816/VPCP", "000.00.00.G22,30/09/2015,7816", "G22,2015/09/30,1", "a,b"):
        with pytest.raises(ValidationError) as caught:
            validate_document_id(bad, "message_header.document_id")
        assert caught.value.field == "message_header.document_id"


def test_package_errors_name_each_field() -> None:
    package = EdxmlPackage.new(sender="H47", recipients=["000.00.00.G22", "bad"], subject=" ")
    package.message_header.document_id = "000.00.00.H47,2026-01-02,1"
    fields = [issue.field for issue in package_issues(package)]
    assert fields == [
        "message_header.from_.organ_id (From/OrganId)",
        "message_header.to[1].organ_id (To/OrganId)",
        "message_header.document_id (DocumentId)",
        "message_header.subject (Subject)",
    ]
    with pytest.raises(ValidationError) as caught:
        check_package(package)
    assert "From/OrganId" in str(caught.value)
    assert "nothing was sent" in str(caught.value)


def test_no_recipient_is_an_error() -> None:
    package = EdxmlPackage.new(sender="000.00.00.H47", recipients=[], subject="x")
    assert [i.field for i in package_issues(package)] == ["message_header.to (To)"]


def test_valid_sample_has_no_issue() -> None:
    assert package_issues(sample_package()) == []


def test_manifest_reference_without_attachment() -> None:
    package = sample_package()
    assert package.manifest is not None
    package.manifest.reference.append(ManifestReference(content_id="cid:ghost"))
    (issue,) = package_issues(package)
    assert issue.field == "manifest.reference[1].content_id (Reference/ContentId)"
    assert "ghost" in str(issue.got)


def test_attachment_missing_from_manifest() -> None:
    package = sample_package()
    package.attachments.append(Attachment.from_bytes(b"x", name="extra.txt", content_id="extra"))
    (issue,) = package_issues(package)
    assert issue.field == "attachments[1].content_id (Attachment/ContentId)"


def test_duplicate_content_ids() -> None:
    package = sample_package()
    duplicate = Attachment.from_bytes(
        b"y", name="dup.pdf", content_id=package.attachments[0].content_id
    )
    package.add_attachment(duplicate)
    fields = {issue.field for issue in package_issues(package)}
    assert "attachments (ContentId)" in fields
    assert "manifest.reference (ContentId)" in fields


def test_add_attachment_keeps_manifest_consistent() -> None:
    package = sample_package()
    package.add_attachment(Attachment.from_bytes(b"more", name="phu-luc.docx"))
    assert len(package.manifest.reference) == 2  # type: ignore[union-attr]
    assert package_issues(package) == []
