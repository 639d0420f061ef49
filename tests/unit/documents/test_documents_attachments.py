"""Attachments: bytes or files, names and types kept, base64 streamed in chunks."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest
from documents_fixtures import sample_package

from govlink.core.errors import ValidationError
from govlink.documents.edxml import (
    Attachment,
    EdxmlPackage,
    build_package,
    package_tree,
    parse_package,
    write,
)
from govlink.documents.edxml._attachments import decode_base64_chunks


def test_from_file_keeps_name_and_guesses_type(tmp_path: Path) -> None:
    path = tmp_path / "quyet-dinh.pdf"
    path.write_bytes(b"%PDF-1.7 abc")
    attachment = Attachment.from_file(path, description="Quyết định")
    assert attachment.attachment_name == "quyet-dinh.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == 12
    package = sample_package()
    package.add_attachment(attachment)
    parsed = parse_package(build_package(package))
    again = parsed.attachments[1]
    assert (again.attachment_name, again.content_type, again.description) == (
        "quyet-dinh.pdf",
        "application/pdf",
        "Quyết định",
    )
    assert again.read_bytes() == b"%PDF-1.7 abc"
    saved = again.save(tmp_path / "out.pdf")
    assert saved.read_bytes() == b"%PDF-1.7 abc"


def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="readable file"):
        Attachment.from_file(tmp_path / "nope.pdf")


def test_attachment_without_content_cannot_be_built() -> None:
    package = EdxmlPackage.new(sender="000.00.00.H47", recipients=["000.00.00.G22"], subject="x")
    package.attachments.append(Attachment(content_id="a", attachment_name="a.pdf"))
    with pytest.raises(ValidationError, match=r"attachments\[0\]"):
        build_package(package)


def test_base64_decoding_accepts_any_chunking() -> None:
    data = bytes(range(256)) * 10
    import base64

    text = base64.encodebytes(data).decode()  # 76-column lines
    chunks = [text[i : i + 7] for i in range(0, len(text), 7)]
    assert b"".join(decode_base64_chunks(iter(chunks))) == data
    with pytest.raises(ValidationError, match="base64"):
        b"".join(decode_base64_chunks(iter(["QUJ"]), field="attachments[0].content"))


def test_writing_a_file_attachment_does_not_load_it_whole(tmp_path: Path) -> None:
    """A 6 MB attachment written to a file costs well under one copy of it."""
    path = tmp_path / "big.bin"
    with path.open("wb") as out:
        for i in range(6):
            out.write(bytes([i]) * (1 << 20))
    package = sample_package()
    package.add_attachment(Attachment.from_file(path))
    tracemalloc.start()
    try:
        with (tmp_path / "pkg.edxml").open("wb") as out:
            written = write(package_tree(package), out)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written > 8 * (1 << 20)  # the base64 really is in the file
    assert peak < 2 * (1 << 20), f"peak {peak} bytes while writing a 6 MB attachment"
    parsed = parse_package(tmp_path / "pkg.edxml")
    with parsed.attachments[1].open() as stream:
        first = stream.read(1 << 20)
    assert first == bytes([0]) * (1 << 20)


def test_parsed_attachment_reads_in_chunks() -> None:
    package = sample_package(attachment=b"x" * 300_000)
    parsed = parse_package(build_package(package))
    with parsed.attachments[0].open() as stream:
        sizes = []
        while block := stream.read(50_000):
            sizes.append(len(block))
    assert sum(sizes) == 300_000
    assert max(sizes) <= 50_000
    assert parsed.attachments[0].size == 300_000


def test_repr_never_contains_the_content() -> None:
    attachment = Attachment.from_bytes(b"SECRET-CONTENT" * 10, name="a.txt")
    assert "SECRET-CONTENT" not in repr(attachment)
    assert "SECRET-CONTENT" not in str(attachment.model_dump())


def test_write_to_stream_equals_build() -> None:
    package = sample_package()
    buffer = io.BytesIO()
    write(package_tree(package), buffer)
    assert buffer.getvalue() == build_package(package)
