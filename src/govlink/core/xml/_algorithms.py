"""The signature, digest and canonicalisation algorithms govlink accepts — an explicit
allow-list (RSA and ECDSA with SHA-2; RSA-SHA1 only where legacy is allowed), never
signxml's own tables."""

from __future__ import annotations

from typing import Any, Final, Literal

from signxml import algorithms as dsig_algorithms

SignatureAlgorithm = Literal[
    "rsa-sha256",
    "rsa-sha384",
    "rsa-sha512",
    "rsa-sha1",
    "ecdsa-sha256",
    "ecdsa-sha384",
    "ecdsa-sha512",
]

SIGNATURE_ALGORITHMS: Final[dict[str, str]] = {
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "ecdsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "ecdsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}
"""Friendly name → XML-DSig ``SignatureMethod`` URI: the only signature methods
govlink signs or accepts (``rsa-sha1`` only where legacy is allowed)."""

DIGEST_ALGORITHMS: Final[dict[str, str]] = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
}
"""Friendly name → ``DigestMethod`` URI: the only digests accepted (``sha1`` only
where legacy is allowed)."""

_DIGEST_FOR: Final[dict[str, str]] = {
    name: DIGEST_ALGORITHMS[name.split("-")[1]] for name in SIGNATURE_ALGORITHMS
}

C14N_METHODS: Final[dict[str, str]] = {
    "c14n": "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "c14n11": "http://www.w3.org/2006/12/xml-c14n11",
    "exc-c14n": "http://www.w3.org/2001/10/xml-exc-c14n#",
}
"""Friendly name → canonicalisation URI. ``c14n`` (1.0) is the default because the
.NET and older Java stacks agencies run do not all implement C14N 1.1."""

_ALGORITHM_NAMES: Final = {uri: name for name, uri in SIGNATURE_ALGORITHMS.items()}
_DIGEST_NAMES: Final = {uri: name for name, uri in DIGEST_ALGORITHMS.items()}


def _legacy(name: str) -> bool:
    return name.endswith("sha1")


def accepted_signature_methods(allow_sha1: bool) -> frozenset[Any]:
    """signxml ``SignatureMethod`` members for the allow-listed URIs, built from our
    table (not from signxml's enumeration of everything it supports)."""
    return frozenset(
        dsig_algorithms.SignatureMethod(uri)
        for name, uri in SIGNATURE_ALGORITHMS.items()
        if allow_sha1 or not _legacy(name)
    )


def accepted_digests(allow_sha1: bool) -> frozenset[Any]:
    """signxml ``DigestAlgorithm`` members for the allow-listed digest URIs."""
    return frozenset(
        dsig_algorithms.DigestAlgorithm(uri)
        for name, uri in DIGEST_ALGORITHMS.items()
        if allow_sha1 or not _legacy(name)
    )
