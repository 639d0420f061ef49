"""The only place govlink extends signxml: its signer and verifier with the few
overridden methods listed in :data:`OVERRIDDEN` (a unit test checks that each still
exists in the installed signxml with the signature we expect, so an upgrade that
changes one fails loudly)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from lxml import etree
from signxml import algorithms as dsig_algorithms
from signxml.signer import XMLSigner as _XMLSigner
from signxml.verifier import XMLVerifier as _XMLVerifier

from govlink.core.errors import ConfigurationError
from govlink.core.xml._parsing import DSIG_NS, ExternalText, _substituted, hardened_parser


def _external_digest(data: bytes, algorithm: Any, external: ExternalText) -> bytes:
    hasher = hashes.Hash(dsig_algorithms.digest_algorithm_implementations[algorithm]())
    for piece in _substituted(data, external):
        hasher.update(piece)
    return hasher.finalize()


def _rooted(node: Any) -> Any:
    """``node`` as the root of its own document, namespaces in scope declared on it.

    Why: the libxml2 bundled with lxml 6 (2.14) canonicalises a *subtree* under a
    default-namespace declaration wrongly (grandchildren get a spurious
    ``xmlns=""``), which breaks every ``<Signature xmlns="…xmldsig#">`` signature as
    .NET and Java write them. Canonicalising a document root is correct, and for
    inclusive C14N a root carrying the in-scope declarations renders the same bytes
    the subset should have.
    """
    if (
        isinstance(node, etree._Element)
        and node.getparent() is not None
        and any(e.prefix is None for e in node.iter(etree.Element))
    ):
        # only subtrees with unprefixed (default-namespace) elements are affected
        return etree.fromstring(etree.tostring(node, with_tail=False), parser=hardened_parser())
    return node


_XML_NS = "http://www.w3.org/XML/1998/namespace"
_XML_PREFIX = f"{{{_XML_NS}}}"
_C14N11_INHERITED = frozenset({f"{_XML_PREFIX}lang", f"{_XML_PREFIX}space"})


def _inherited_xml_attributes(
    node: Any, algorithm_uri: str, outer: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``xml:*`` attributes a document subset's apex inherits from its ancestors.

    Inclusive Canonical XML renders them on the apex element (C14N 1.0 §2.4: every
    ``xml:`` attribute; C14N 1.1 §2.4: ``xml:lang`` and ``xml:space``); exclusive C14N
    does not. lxml canonicalises a subtree without them, so a ``SignedInfo`` under a
    root carrying ``xml:lang="vi"`` would not verify with xmlsec1, .NET or Java.
    ``outer``: the attributes in scope above a standalone copy of a ``Signature``.
    """
    if not isinstance(node, etree._Element) or "xml-exc-c14n" in algorithm_uri:
        return {}
    found: dict[str, str] = {}
    top = node
    for ancestor in node.iterancestors():
        top = ancestor
        for name, value in ancestor.items():
            key = str(name)
            if key.startswith(_XML_PREFIX) and key not in found:
                found[key] = str(value)
    if outer and top is not node and str(top.tag).rpartition("}")[2] == "Signature":
        for key, value in outer.items():
            found.setdefault(key, value)
    if not found:  # the usual case: nothing to add
        return found
    c14n11 = "xml-c14n11" in algorithm_uri
    return {
        key: value
        for key, value in found.items()
        if key not in node.attrib and (not c14n11 or key in _C14N11_INHERITED)
    }


_UNPREFIXED_END_TAG = re.compile(rb"</[^:>]*+>")
"""An element without a prefix in canonical XML, which writes every end tag
(``</Name>``): text and attribute values never hold a raw ``<``, so only such an
element (or a comment's content, which merely costs a second pass) can match."""


def _c14n_fixed(self: Any, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any = None) -> bytes:
    items = nodes if isinstance(nodes, list) else [nodes]
    c14n = super(type(self), self)._c14n
    for node in items:
        if isinstance(node, etree._Element) and node.getparent() is not None:
            break
    else:
        # whole documents: libxml2 renders them right and they inherit nothing
        canonical: bytes = c14n(
            items, algorithm=algorithm, inclusive_ns_prefixes=inclusive_ns_prefixes
        )
        return canonical
    uri = str(getattr(algorithm, "_value_", algorithm))  # an Enum member's value
    outer = getattr(self, "outer_xml_attributes", None)
    inherited = [
        (node, attributes)
        for node in items
        if (attributes := _inherited_xml_attributes(node, uri, outer))
    ]
    for node, attributes in inherited:
        for name, value in attributes.items():
            node.set(name, value)
    try:
        canonical = c14n(items, algorithm=algorithm, inclusive_ns_prefixes=inclusive_ns_prefixes)
        # The libxml2 subtree bug (see _rooted) needs an unprefixed element, and every
        # element of the subset is in the output: look there rather than walk the
        # subtree beforehand (usually all prefixed, so one pass is all it costs).
        if _UNPREFIXED_END_TAG.search(canonical):
            canonical = c14n(
                [_rooted(n) for n in items],
                algorithm=algorithm,
                inclusive_ns_prefixes=inclusive_ns_prefixes,
            )
    finally:
        for node, attributes in inherited:
            for name in attributes:
                del node.attrib[name]
    return canonical


def _encloses(nodes: list[Any], element: etree._Element) -> bool:
    ancestors = list(element.iterancestors())
    return any(node is ancestor for node in nodes for ancestor in ancestors)


OVERRIDDEN: Final[dict[type, dict[str, tuple[str, ...]]]] = {
    _XMLSigner: {
        "get_root": ("self", "data"),
        "check_deprecated_methods": ("self",),
        "_c14n": ("self", "nodes", "algorithm", "inclusive_ns_prefixes"),
        "_get_digest": ("self", "data", "algorithm"),
    },
    _XMLVerifier: {
        "get_root": ("self", "data"),
        "_c14n": ("self", "nodes", "algorithm", "inclusive_ns_prefixes"),
        "_get_digest": ("self", "data", "algorithm"),
    },
}
"""Every signxml method govlink overrides, with the parameters it expects. Why each:
``get_root`` (use the tree govlink parsed or built instead of serialising and
re-parsing it), ``_c14n`` (the libxml2 subtree bug, inherited ``xml:*`` attributes, the
signature detached while the content is canonicalised), ``_get_digest`` (text kept
outside the tree), ``check_deprecated_methods`` (legacy RSA-SHA1 only when allowed)."""

SUPPORTED_SIGNXML = ">=5.1,<5.3"
"""The signxml versions the test suite passes with (``pyproject.toml`` says the same)."""


def signxml_changes() -> list[str]:
    """What differs between the installed signxml and :data:`OVERRIDDEN` (empty: none)."""
    problems: list[str] = []
    for cls, methods in OVERRIDDEN.items():
        for name, expected in methods.items():
            method = getattr(cls, name, None)
            if method is None:
                problems.append(f"{cls.__name__}.{name} no longer exists")
                continue
            found = tuple(inspect.signature(method).parameters)
            if found != expected:
                problems.append(f"{cls.__name__}.{name}{found} (expected {expected})")
    return problems


@lru_cache(maxsize=1)
def _check_signxml() -> None:
    problems = signxml_changes()
    if problems:
        raise ConfigurationError(
            "the installed signxml changed methods govlink extends: " + "; ".join(problems),
            setting="signxml",
            expected=f"signxml {SUPPORTED_SIGNXML} (the versions govlink is tested with)",
        )


def _signer_class(allow_sha1: bool) -> Any:
    _check_signxml()

    class _Signer(_XMLSigner):
        """signxml's signer, minus its defensive copies of the document.

        Per signature signxml serialises and re-parses the document twice: once for
        the tree to put the signature in, once more for the content to digest (from
        which it then cuts the placeholder). Here the first is the caller's tree
        (``in_place``) or one copy, and the second is that same tree: the signature
        being built is detached while the content is canonicalised, which is exactly
        the enveloped-signature transform (the xmlsec1 interop tests check the
        result). One instance signs one document.
        """

        external: ExternalText = MappingProxyType({})
        in_place = False
        placeholder: Any = None
        """The ``Signature`` placeholder :class:`XmlSigner` put into the document."""
        _source: Any = None
        _document: Any = None
        _signature: Any = None

        def get_root(self, data: Any) -> Any:
            if not isinstance(data, etree._Element):
                return super().get_root(data)  # type: ignore[no-untyped-call]
            if self._document is None:  # the document the signature goes into
                self._source = data
                if self.in_place:
                    self._document, self._signature = data, self.placeholder
                else:
                    self._document = super().get_root(data)  # type: ignore[no-untyped-call]
                    self._signature = next(
                        self._document.iterfind(f".//{{{DSIG_NS}}}Signature[@Id='placeholder']"),
                        None,
                    )
                return self._document
            # the content to digest: the whole document again, or (``#id``
            # references) an element signxml found in our document
            return self._document if data is self._source else data

        def _c14n(self, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any = None) -> bytes:
            signature = self._signature
            items = nodes if isinstance(nodes, list) else [nodes]
            holder = signature.getparent() if signature is not None else None
            if holder is None or not _encloses(items, signature):
                return _c14n_fixed(self, items, algorithm, inclusive_ns_prefixes)
            index = holder.index(signature)
            # lxml would take a tail along; the placeholder XmlSigner.sign inserts has none
            holder.remove(signature)
            try:
                return _c14n_fixed(self, items, algorithm, inclusive_ns_prefixes)
            finally:
                holder.insert(index, signature)

        def check_deprecated_methods(self) -> None:
            if not allow_sha1:
                super().check_deprecated_methods()  # type: ignore[no-untyped-call]

        def _get_digest(self, data: bytes, algorithm: Any) -> bytes:
            if self.external:
                return _external_digest(data, algorithm, self.external)
            digest: bytes = super()._get_digest(data, algorithm)
            return digest

    return _Signer


def _verifier_class() -> Any:
    _check_signxml()

    class _Verifier(_XMLVerifier):
        external: ExternalText = MappingProxyType({})
        outer_xml_attributes: Mapping[str, str] = MappingProxyType({})

        def get_root(self, data: Any) -> Any:
            # signxml copies the tree before changing anything (signature removal,
            # transforms), so the tree govlink parsed once can be used as is.
            if isinstance(data, etree._Element):
                return data
            return super().get_root(data)  # type: ignore[no-untyped-call]

        def _c14n(self, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any = None) -> bytes:
            return _c14n_fixed(self, nodes, algorithm, inclusive_ns_prefixes)

        def _get_digest(self, data: bytes, algorithm: Any) -> bytes:
            if self.external:
                return _external_digest(data, algorithm, self.external)
            digest: bytes = super()._get_digest(data, algorithm)
            return digest

    return _Verifier
