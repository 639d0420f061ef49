"""Checks a package must pass before it is signed and sent.

Every problem names the field (Python path, with the wire name) and what was
expected, so a vendor can fix the record in their own system: an agency code such
as ``000.00.00.G22`` / ``001.00.10.H47`` (mã định danh: three digits, two, two, a
letter and two digits), a document id ``<agency>,<yyyy/MM/dd>,<number>/<notation>``
(``000.00.00.G22,2015/09/30,7816/VPCP-TTĐT``), and a manifest that lists exactly
the attachments the package carries.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from govlink.core.clock import parse_slash_date
from govlink.core.errors import ValidationError
from govlink.documents.edxml.models import (
    EdxmlPackage,
    StatusMessage,
    normalize_content_id,
)

__all__ = [
    "AGENCY_CODE_RE",
    "Issue",
    "check_package",
    "check_status",
    "is_agency_code",
    "package_issues",
    "status_issues",
    "validate_agency_code",
    "validate_document_id",
]

AGENCY_CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
AGENCY_CODE_FORM = "an agency code like 000.00.00.G22 or 001.00.10.H47 (NNN.NN.NN.XNN)"
DOCUMENT_ID_FORM = (
    "a document id <agency code>,<yyyy/MM/dd>,<number>/<notation>, "
    "e.g. 000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
)


@dataclass(frozen=True)
class Issue:
    """One problem: which field, what was expected, what was there."""

    field: str
    expected: str
    got: object = None

    def error(self) -> ValidationError:
        return ValidationError(self.field, self.expected, got=self.got)

    def __str__(self) -> str:
        shown = "" if self.got is None else f" (got {self.got!r})"
        return f"{self.field}: expected {self.expected}{shown}"


def is_agency_code(value: str | None) -> bool:
    return bool(value) and AGENCY_CODE_RE.match(value or "") is not None


def validate_agency_code(value: str | None, field: str = "agency_code") -> str:
    """``value`` if it is an agency code, else :class:`ValidationError` naming ``field``."""
    if not is_agency_code(value):
        raise ValidationError(field, AGENCY_CODE_FORM, got=value)
    assert value is not None
    return value


def _document_id_problem(value: str) -> str | None:
    parts = value.split(",", 2)
    if len(parts) != 3:
        return "three comma-separated parts"
    agency, day, number = (p.strip() for p in parts)
    if not is_agency_code(agency):
        return f"the first part to be {AGENCY_CODE_FORM}"
    try:
        parse_slash_date(day)
    except ValueError:
        return "the second part to be a date yyyy/MM/dd"
    if not number:
        return "the third part to be the document number/notation"
    return None


def validate_document_id(value: str | None, field: str = "document_id") -> str:
    """``value`` if it is a well-formed document id, else :class:`ValidationError`."""
    if not value or _document_id_problem(value) is not None:
        raise ValidationError(field, DOCUMENT_ID_FORM, got=value)
    return value


def package_issues(package: EdxmlPackage) -> list[Issue]:
    """Every problem found in ``package`` (empty when it can be sent)."""
    issues: list[Issue] = []
    header = package.message_header
    if header.from_ is None or not header.from_.organ_id:
        issues.append(Issue("message_header.from_.organ_id (From/OrganId)", AGENCY_CODE_FORM))
    elif not is_agency_code(header.from_.organ_id):
        issues.append(
            Issue(
                "message_header.from_.organ_id (From/OrganId)",
                AGENCY_CODE_FORM,
                header.from_.organ_id,
            )
        )
    if not header.to:
        issues.append(Issue("message_header.to (To)", "at least one receiving agency"))
    for index, to in enumerate(header.to):
        if not is_agency_code(to.organ_id):
            issues.append(
                Issue(
                    f"message_header.to[{index}].organ_id (To/OrganId)",
                    AGENCY_CODE_FORM,
                    to.organ_id,
                )
            )
    if header.document_id is not None:
        problem = _document_id_problem(header.document_id)
        if problem is not None:
            issues.append(
                Issue(
                    "message_header.document_id (DocumentId)",
                    f"{DOCUMENT_ID_FORM} ({problem})",
                    header.document_id,
                )
            )
    if not (header.subject or "").strip():
        issues.append(Issue("message_header.subject (Subject)", "a non-empty subject"))
    for index, response in enumerate(header.response_for):
        if response.organ_id is not None and not is_agency_code(response.organ_id):
            issues.append(
                Issue(
                    f"message_header.response_for[{index}].organ_id (ResponseFor/OrganId)",
                    AGENCY_CODE_FORM,
                    response.organ_id,
                )
            )
    issues.extend(manifest_issues(package))
    return issues


def manifest_issues(package: EdxmlPackage) -> list[Issue]:
    """Manifest ↔ attachments consistency: each reference has its attachment and
    each attachment its reference, once, by ``ContentId`` (``cid:`` ignored)."""
    issues: list[Issue] = []
    references = package.manifest.reference if package.manifest is not None else []
    ref_ids = [normalize_content_id(r.content_id) for r in references]
    att_ids = [normalize_content_id(a.content_id) for a in package.attachments]
    for index, value in enumerate(att_ids):
        if not value:
            issues.append(Issue(f"attachments[{index}].content_id (ContentId)", "a content id"))
    for index, value in enumerate(ref_ids):
        if not value:
            issues.append(
                Issue(f"manifest.reference[{index}].content_id (Reference/ContentId)", "cid:<id>")
            )
    for value, count in Counter(att_ids).items():
        if value and count > 1:
            issues.append(
                Issue("attachments (ContentId)", "unique content ids", f"{value} x{count}")
            )
    for value, count in Counter(ref_ids).items():
        if value and count > 1:
            issues.append(
                Issue("manifest.reference (ContentId)", "unique content ids", f"{value} x{count}")
            )
    attached = set(att_ids)
    listed = set(ref_ids)
    for index, value in enumerate(ref_ids):
        if value and value not in attached:
            issues.append(
                Issue(
                    f"manifest.reference[{index}].content_id (Reference/ContentId)",
                    "a reference to an attachment in the package",
                    f"cid:{value} has no attachment",
                )
            )
    for index, value in enumerate(att_ids):
        if value and value not in listed:
            issues.append(
                Issue(
                    f"attachments[{index}].content_id (Attachment/ContentId)",
                    "an attachment listed in the manifest",
                    f"{value} is not in edXMLManifest",
                )
            )
    return issues


def check_package(package: EdxmlPackage) -> EdxmlPackage:
    """Raise :class:`ValidationError` for the first problem; return the package."""
    issues = package_issues(package)
    if issues:
        raise issues[0].error()
    return package


def status_issues(status: StatusMessage) -> list[Issue]:
    issues: list[Issue] = []
    if status.from_ is None or not is_agency_code(status.from_.organ_id):
        issues.append(
            Issue(
                "from_.organ_id (From/OrganId)",
                AGENCY_CODE_FORM,
                status.from_.organ_id if status.from_ else None,
            )
        )
    if status.response_for is None:
        issues.append(Issue("response_for (ResponseFor)", "the document this status is about"))
    else:
        if not is_agency_code(status.response_for.organ_id):
            issues.append(
                Issue(
                    "response_for.organ_id (ResponseFor/OrganId)",
                    AGENCY_CODE_FORM,
                    status.response_for.organ_id,
                )
            )
        if status.response_for.document_id is not None:
            problem = _document_id_problem(status.response_for.document_id)
            if problem is not None:
                issues.append(
                    Issue(
                        "response_for.document_id (ResponseFor/DocumentId)",
                        f"{DOCUMENT_ID_FORM} ({problem})",
                        status.response_for.document_id,
                    )
                )
    code = status.status_code
    if code is None or not re.fullmatch(r"\d{2}", code.value):
        issues.append(
            Issue(
                "status_code (StatusCode)",
                "a two-digit status code (01, 02, 03, 04, 05, 06, 13, 15, 16)",
                code.value if code is not None else None,
            )
        )
    return issues


def check_status(status: StatusMessage) -> StatusMessage:
    issues = status_issues(status)
    if issues:
        raise issues[0].error()
    return status
