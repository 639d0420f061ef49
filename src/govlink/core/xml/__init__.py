"""Hardened XML parsing and XML-DSig signing/verification (over signxml).

Why one package: every XML byte govlink reads comes from a platform or another
agency, so it is untrusted; parsing it one way everywhere and verifying signatures one
way everywhere (pinned certificate or trust store, chain and validity checked, SHA-1
only when a profile allows it, and afterwards *only the signed content* is handed on)
is what keeps a signature-wrapping or entity-expansion attack from working in one
corner of the SDK. Its modules each do one job:

* :mod:`~govlink.core.xml._parsing` — hardened parsing, streaming with text kept
  outside the tree, writing;
* :mod:`~govlink.core.xml._keys` — keys, certificates, the trust store;
* :mod:`~govlink.core.xml._algorithms` — the allow-listed algorithms;
* :mod:`~govlink.core.xml._signing` — :class:`XmlSigner`;
* :mod:`~govlink.core.xml._verification` — :class:`XmlVerifier`, :class:`VerifiedXml`;
* ``_signxml`` — the few signxml methods govlink overrides (pinned by a test).

Everything is importable from ``govlink.core.xml`` as before.
"""

from govlink.core.xml._algorithms import (
    C14N_METHODS,
    DIGEST_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    SignatureAlgorithm,
)
from govlink.core.xml._keys import TrustStore, fingerprint, load_certificates, load_private_key
from govlink.core.xml._parsing import (
    DEFAULT_MAX_BYTES,
    DSIG_NS,
    ExternalText,
    SpooledText,
    StreamedXml,
    TextSource,
    XmlRejectedError,
    c14n_escape_text,
    hardened_parser,
    new_marker,
    parse_xml,
    parse_xml_streaming,
    write_xml,
)
from govlink.core.xml._signing import XmlSigner
from govlink.core.xml._verification import VerifiedXml, XmlVerifier

__all__ = [
    "C14N_METHODS",
    "DEFAULT_MAX_BYTES",
    "DIGEST_ALGORITHMS",
    "DSIG_NS",
    "SIGNATURE_ALGORITHMS",
    "ExternalText",
    "SignatureAlgorithm",
    "SpooledText",
    "StreamedXml",
    "TextSource",
    "TrustStore",
    "VerifiedXml",
    "XmlRejectedError",
    "XmlSigner",
    "XmlVerifier",
    "c14n_escape_text",
    "fingerprint",
    "hardened_parser",
    "load_certificates",
    "load_private_key",
    "new_marker",
    "parse_xml",
    "parse_xml_streaming",
    "write_xml",
]
