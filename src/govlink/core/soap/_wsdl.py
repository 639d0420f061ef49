"""WSDL loading: local files only, hardened, parsed once per process and shared.

A WSDL is code: :func:`load_wsdl` refuses any URL, DTDs, entities and external
references, and paths outside the WSDL's own directory. Each file is parsed once per
process (parsing costs far more than a call) and the parsed document is shared by
every client.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport

from govlink.core.errors import GovLinkError

__all__ = [
    "SETTINGS",
    "WsdlError",
    "ZeepAsyncClient",
    "ZeepClient",
    "clear_wsdl_cache",
    "hardened_settings",
    "is_document",
    "load_wsdl",
    "refuse_load",
    "wsdl_load_count",
]

log = logging.getLogger("govlink.soap")

# zeep's functions are untyped; these aliases keep mypy --strict honest elsewhere.
ZeepClient: Any = zeep.Client
ZeepAsyncClient: Any = zeep.AsyncClient
_TRANSPORT_INIT: Any = Transport.__init__  # zeep's public constructor, untyped


class WsdlError(GovLinkError):
    """A WSDL/XSD file is missing, malformed, or refers to a document we will not load."""


def hardened_settings() -> zeep.Settings:
    """zeep settings for untrusted input: strict, no DTD, no entities, nothing external."""
    return zeep.Settings(
        strict=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


class _LocalFileLoader(Transport):
    """The only transport that ever loads documents: local files under one directory.

    It refuses URLs of any scheme (a WSDL with an ``http://`` import would otherwise
    fetch it at run time) and paths that escape the WSDL's own directory.
    """

    def __init__(self, root: Path) -> None:
        _TRANSPORT_INIT(self, cache=None, timeout=0)
        # zeep's constructor opened a requests session; this loader never uses it
        self.session.close()
        self.root = root

    def load(self, url: str) -> bytes:
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(parsed.path)
        elif parsed.scheme and len(parsed.scheme) > 1:  # one letter: a Windows drive
            raise WsdlError(
                f"the WSDL refers to {url!r}, a remote document",
                hint="ship every WSDL/XSD inside the package and refer to it by a relative "
                "schemaLocation; govlink never fetches schemas at run time",
            )
        else:
            path = Path(url)
        path = path.resolve()
        if not path.is_relative_to(self.root):
            raise WsdlError(
                f"the WSDL refers to {str(path)!r}, outside its directory {str(self.root)!r}",
                hint="keep imported schemas next to the WSDL file",
            )
        try:
            return path.read_bytes()
        except OSError as exc:
            raise WsdlError(
                f"cannot read schema file {str(path)!r}: {exc.strerror}",
                hint="reinstall govlink; the package data is incomplete",
            ) from None

    def get(self, address: str, params: Any, headers: Any) -> Any:
        raise WsdlError(f"refusing HTTP GET {address!r} while loading a WSDL")

    def post(self, address: str, message: Any, headers: Any) -> Any:
        raise WsdlError(f"refusing HTTP POST {address!r} while loading a WSDL")


_cache: dict[Path, Any] = {}
_load_counts: dict[Path, int] = {}
_cache_lock = threading.Lock()


def load_wsdl(path: str | Path) -> Any:
    """The parsed WSDL at ``path`` (a local file), parsed once per process and shared.

    Thread-safe: concurrent first calls parse the file once. Returns a
    ``zeep.wsdl.Document``.
    """
    resolved = Path(path).resolve()
    document = _cache.get(resolved)
    if document is not None:
        return document
    with _cache_lock:
        document = _cache.get(resolved)
        if document is None:
            document = _parse(resolved)
            _cache[resolved] = document
            _load_counts[resolved] = _load_counts.get(resolved, 0) + 1
    return document


def _parse(path: Path) -> Any:
    if not path.is_file():
        raise WsdlError(
            f"WSDL file {str(path)!r} does not exist",
            hint="reinstall govlink; the package data is incomplete",
        )
    try:
        # zeep.Client parses the WSDL through the transport it is given; its public
        # ``wsdl`` attribute is the parsed document every govlink client then shares
        loader = ZeepClient(str(path), transport=_LocalFileLoader(path.parent), settings=SETTINGS)
        return loader.wsdl
    except GovLinkError:
        raise
    except (zeep.exceptions.Error, etree.LxmlError) as exc:
        raise WsdlError(
            f"WSDL {str(path)!r} cannot be parsed: {exc}",
            hint="the shipped schema is broken; report it",
        ) from exc


def wsdl_load_count(path: str | Path | None = None) -> int:
    """How many times a WSDL was parsed in this process (all of them if ``path`` is None).

    The benchmark and the tests assert this stays at one per file.
    """
    with _cache_lock:
        if path is None:
            return sum(_load_counts.values())
        return _load_counts.get(Path(path).resolve(), 0)


def clear_wsdl_cache() -> None:
    """Forget parsed WSDLs and counts (tests only; clients keep their documents)."""
    with _cache_lock:
        _cache.clear()
        _load_counts.clear()


def is_document(value: object) -> bool:
    """Whether ``value`` is a parsed WSDL document (what :func:`load_wsdl` returns)."""
    return isinstance(value, zeep.wsdl.Document)


def refuse_load(url: str) -> bytes:
    """What the operation transports answer when zeep asks them to load a document."""
    raise WsdlError(
        f"refusing to load {url!r} at run time",
        hint="load WSDLs with govlink.core.soap.load_wsdl (local package files only)",
    )


SETTINGS = hardened_settings()
"""One settings object for every client: zeep reads it on each reply (strict parsing,
no DTD/entities/external references)."""
