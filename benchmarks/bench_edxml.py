"""edXML signing and verification speed, against raw signxml in the same run, and the
memory a 50 MB attachment costs.

Measured:

* ``sign_per_s``: ``PackageSigner.sign(package)``, the call a user makes, for a
  small package (one 1 KB attachment): models → lxml tree, validation, enveloped
  RSA-SHA256 signature in ``edXMLHeader``, serialisation to bytes;
* ``signxml_sign_per_s``: raw signxml on the same document (an lxml tree built
  *beforehand*, signature placeholder in ``edXMLHeader``, the same key object and
  certificate, same algorithms) plus ``etree.tostring`` — the floor govlink builds
  on. It does less than ``sign_per_s`` (no models, no validation), so the JSON
  ratio is conservative. Printed besides (not in the JSON): like for like, govlink
  signing an already-built tree (``PackageSigner.sign_tree`` + ``write``, the input
  tree left untouched as signxml leaves it), and what building the tree from the
  models and validating cost per package;
* ``verify_per_s``: ``PackageVerifier.verify(bytes)``: hardened streaming parse,
  certificate chain check against the test CA (cached per certificate), signature
  check, and the package rebuilt as models from the signed content only;
* ``signxml_verify_per_s``: ``XMLVerifier().verify(bytes, x509_cert=…)`` on the same
  bytes (no chain check, no models);
* ``large_seconds`` / ``large_peak_rss_ratio``: in a fresh subprocess, build + sign +
  serialise (to a file) a package with a 50 MB attachment read from disk; the ratio
  is the process's peak RSS (``resource.getrusage``, interpreter and libraries
  included) divided by the attachment size. The growth over the process's RSS
  before the work is printed too.

Rates are calls per CPU-second of this process (single-threaded, so per core),
alternating govlink and signxml rounds and reporting the median round. Targets:
≥ 1,000/s each and within 1.3x of signxml; large package peak RSS ≤ 3x the
attachment. The last line is one JSON object.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from cryptography import x509
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from govlink.core.xml import DSIG_NS, load_private_key
from govlink.documents import (
    EDXML_NS,
    Attachment,
    EdxmlPackage,
    PackageSigner,
    PackageVerifier,
    build_package,
    check_package,
)
from govlink.documents.edxml._build import package_tree, write

ROOT = Path(__file__).resolve().parents[1]
PKI = ROOT / "mock_servers" / "vdxp" / "pki"
AGENCY = "000.00.00.H47"
KEY = PKI / f"{AGENCY}.key.pem"
CERT = PKI / f"{AGENCY}.cert.pem"
ROUNDS = 15
ROUND_SECONDS = 0.2
LARGE_BYTES = 50 * 1024 * 1024


def small_package() -> EdxmlPackage:
    package = EdxmlPackage.new(
        sender=AGENCY,
        recipients=["000.00.00.G22"],
        subject="Về việc báo cáo tình hình triển khai dịch vụ công trực tuyến",
        code_number="125",
        code_notation="UBND-VP",
        promulgation_date=date(2026, 1, 2),
        place="Tỉnh Mẫu",
        signer_name="Chủ tịch UBND tỉnh",
    )
    package.add_attachment(Attachment.from_bytes(b"%PDF-1.4\n" + bytes(1000), name="bao-cao.pdf"))
    return package


def rate(fn: Callable[[], object]) -> float:
    """Calls per CPU-second of ``fn`` over one round of about ROUND_SECONDS.

    CPU time of this process (``time.process_time``), not wall time: on a shared
    2-core machine other jobs steal wall time unevenly between rounds, while the CPU
    time a call costs is what decides throughput per core.
    """
    count = 0
    started = time.process_time()
    deadline = time.perf_counter() + ROUND_SECONDS
    while True:
        fn()
        count += 1
        if time.perf_counter() >= deadline:
            return count / max(time.process_time() - started, 1e-9)


def alternate(*fns: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    """Median rate of each of ``fns``, measured in interleaved rounds (so a burst of
    load from other jobs hits all of them alike)."""
    for fn in fns:  # warm-up
        for _ in range(20):
            fn()
    rates: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, measured in zip(fns, rates, strict=True):
            measured.append(rate(fn))
    return [statistics.median(measured) for measured in rates]


def raw_signxml_signer() -> Callable[[], bytes]:
    """signxml alone on the same document, prepared the way an expert would."""
    document = etree.fromstring(build_package(small_package()))
    header = document.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    assert header is not None
    etree.SubElement(
        header, f"{{{DSIG_NS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DSIG_NS}
    )
    key = load_private_key(KEY)
    cert = CERT.read_text(encoding="ascii")
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )

    def sign() -> bytes:
        signed = signer.sign(document, key=key, cert=[cert])
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    return sign


def large_child(attachment: str, out: str) -> None:
    """Runs in a fresh process: build + sign + write a package with a big attachment."""
    import resource

    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    signer = PackageSigner.from_files(KEY, CERT)
    package = small_package()
    package.add_attachment(Attachment.from_file(attachment, content_type="application/pdf"))
    started = time.perf_counter()
    with open(out, "wb") as stream:
        written = signer.write(package, stream)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": seconds, "peak_kb": peak_kb, "before_kb": before_kb, "written": written}
        )
    )


def large_run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        attachment = Path(tmp) / "large.pdf"
        block = os.urandom(1 << 20)
        with attachment.open("wb") as stream:
            for _ in range(LARGE_BYTES >> 20):
                stream.write(block)
        out = Path(tmp) / "large.edxml"
        result = subprocess.run(
            [sys.executable, __file__, "--large-child", str(attachment), str(out)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        data = json.loads(result.stdout.strip().splitlines()[-1])
        verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
        verified = verifier.verify(out)  # the 67 MB file really is a valid package
        assert verified.package is not None
        assert verified.package.attachments[1].size == LARGE_BYTES
        verified.close()
    peak = data["peak_kb"] * 1024
    growth = (data["peak_kb"] - data["before_kb"]) * 1024
    return {
        "seconds": data["seconds"],
        "ratio": peak / LARGE_BYTES,
        "growth_ratio": growth / LARGE_BYTES,
        "written": data["written"],
    }


def main() -> None:
    package = small_package()
    signer = PackageSigner.from_files(KEY, CERT)
    verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    signed = signer.sign(package)
    assert verifier.verify(signed).trusted

    raw_sign = raw_signxml_signer()
    built = package_tree(package)

    def sign_built() -> bytes:  # like signxml: a tree built beforehand, left as it is
        buffer = io.BytesIO()
        write(signer.sign_tree(built), buffer)
        return buffer.getvalue()

    assert sign_built() == signed
    sign_rate, raw_sign_rate, tree_sign_rate = alternate(
        lambda: signer.sign(package), raw_sign, sign_built
    )
    build_rate, check_rate = alternate(
        lambda: package_tree(package), lambda: check_package(package), rounds=5
    )

    cert = x509.load_pem_x509_certificate(CERT.read_bytes())
    config = SignatureConfiguration(location=".//", expect_references=1)
    raw_signed = raw_sign()

    def raw_verify() -> object:
        return XMLVerifier().verify(raw_signed, x509_cert=cert, expect_config=config)

    verify_rate, raw_verify_rate = alternate(lambda: verifier.verify(signed), raw_verify)

    def verify_and_read() -> object:
        return verifier.verify(signed).package

    models_rate = statistics.median(rate(verify_and_read) for _ in range(3))

    large = large_run()
    print(f"small package: {len(signed):,} bytes signed")
    print(
        f"sign:   govlink {sign_rate:,.0f}/s   signxml {raw_sign_rate:,.0f}/s   "
        f"ratio {raw_sign_rate / sign_rate:.2f}x (target >= 1,000/s, <= 1.3x)"
    )
    print(
        "        govlink: PackageSigner.sign(package) = models -> tree, validation, signing, bytes"
    )
    print("        signxml: XMLSigner.sign(a tree built beforehand) + tostring = signing, bytes")
    print(
        f"        like for like, govlink's PackageSigner.sign_tree(a tree built beforehand) + "
        f"write: {tree_sign_rate:,.0f}/s, ratio {raw_sign_rate / tree_sign_rate:.2f}x;"
    )
    print(
        f"        the rest of govlink's sign: tree from the models {1e6 / build_rate:.0f} us, "
        f"validation {1e6 / check_rate:.0f} us per package (CPU; not in the JSON)"
    )
    print(
        f"verify: govlink {verify_rate:,.0f}/s   signxml {raw_verify_rate:,.0f}/s   "
        f"ratio {raw_verify_rate / verify_rate:.2f}x (target >= 1,000/s, <= 1.3x)"
    )
    print(f"verify + read the package models: {models_rate:,.0f}/s (not in the JSON)")
    print(
        f"50 MB attachment: build+sign+write {large['seconds']:.2f} s, "
        f"{large['written'] / 1e6:.1f} MB written; peak RSS {large['ratio']:.2f}x the "
        f"attachment (growth over the idle process {large['growth_ratio']:.2f}x; "
        "target <= 3x)"
    )
    print(
        json.dumps(
            {
                "sign_per_s": round(sign_rate, 1),
                "verify_per_s": round(verify_rate, 1),
                "signxml_sign_per_s": round(raw_sign_rate, 1),
                "signxml_verify_per_s": round(raw_verify_rate, 1),
                "large_seconds": round(large["seconds"], 3),
                "large_peak_rss_ratio": round(large["ratio"], 3),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--large-child":
        large_child(sys.argv[2], sys.argv[3])
    else:
        main()
