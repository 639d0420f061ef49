"""Receive keeps the signed original byte for byte, and outside names never escape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govlink.documents import Attachment, EdxmlPackage, PackageSigner, PackageVerifier
from govlink.documents._receive import ReceivedDocument
from govlink.documents._store import safe_component
from govlink.documents.models import EdocSummary


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../x", "x"),
        ("..", "doc"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("a/../../b", "b"),
        ("\x00\x1f", "doc"),
        ("", "doc"),
        ("...", "doc"),
        ("công văn 12.pdf", "công văn 12.pdf"),
        ("3c8c7d25-b964", "3c8c7d25-b964"),
    ],
)
def test_names_from_outside_become_one_harmless_component(name: str, expected: str) -> None:
    assert safe_component(name, "doc") == expected


def _received(
    signer: PackageSigner, verifier: PackageVerifier, doc_id: str, attachment_name: str
) -> tuple[ReceivedDocument, bytes]:
    package = EdxmlPackage.new(
        sender="000.00.00.H47", recipients=["000.00.00.G22"], subject="Về việc lưu trữ"
    )
    package.add_attachment(Attachment.from_bytes(b"%PDF-1.4 x", name=attachment_name))
    # whitespace and attribute order the way another vendor might write them
    signed = signer.sign(package).replace(b"?>", b"?>\n", 1)
    summary = EdocSummary.model_validate({"docId": doc_id, "from": "000.00.00.H47"})
    return ReceivedDocument(summary, verifier.verify(signed), signed), signed


@pytest.mark.parametrize("doc_id", ["../../escaped", "/tmp/absolute", "..", "ok-id"])
def test_save_stays_inside_the_directory_and_keeps_the_original(
    tmp_path: Path, signer: PackageSigner, verifier: PackageVerifier, doc_id: str
) -> None:
    inbox = tmp_path / "inbox"
    document, signed = _received(signer, verifier, doc_id, "../../../etc/cron.d/evil")
    folder = document.save(inbox)
    document.verified.close()
    assert folder.parent == inbox
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()}
    assert all(inbox.resolve() in p.parents for p in written)
    assert (folder / "original.edxml").read_bytes() == signed  # byte for byte
    assert (folder / "attachments" / "evil").read_bytes() == b"%PDF-1.4 x"
    report = json.loads((folder / "verification.json").read_text())
    assert report["trusted"] is True
    parsed = json.loads((folder / "message.json").read_text(encoding="utf-8"))
    assert parsed["message_header"]["subject"] == "Về việc lưu trữ"
    assert not list(folder.rglob(".part-*"))  # no temporary file left behind
    assert verifier.verify((folder / "original.edxml").read_bytes()).trusted
