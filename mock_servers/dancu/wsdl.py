"""The WSDL and XSD the mock serves: the very files the govlink client ships.

Located on disk through the ``govlink`` distribution's path without importing any
govlink module (the mock must not run client code), so the two can never drift:
a test asserts the served bytes equal the client's files (``soap:address`` aside).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

__all__ = ["CANONICAL_ADDRESS", "WSDL_NAME", "read_schema", "schema_names", "wsdl_dir", "wsdl_for"]

WSDL_NAME = "dancu.wsdl"
CANONICAL_ADDRESS = b"http://127.0.0.1:8700/dancu/CongDanService"
"""The ``soap:address`` written in the shipped WSDL; replaced by the mock's own URL."""


@lru_cache(maxsize=1)
def wsdl_dir() -> Path:
    """``<govlink package>/citizens/wsdl`` (``find_spec`` of a top-level package does
    not import it)."""
    spec = importlib.util.find_spec("govlink")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "citizens" / "wsdl"
        if (candidate / WSDL_NAME).is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find govlink/citizens/wsdl/dancu.wsdl; install govlink (pip install -e .)"
    )


@lru_cache(maxsize=8)
def _read(name: str) -> bytes:
    return (wsdl_dir() / name).read_bytes()


def schema_names() -> frozenset[str]:
    """The XSD files next to the WSDL (the only other files the mock serves)."""
    return frozenset(p.name for p in wsdl_dir().glob("*.xsd"))


def read_schema(name: str) -> bytes | None:
    """An XSD's bytes, or None when ``name`` is not one of the shipped schemas."""
    return _read(name) if name in schema_names() else None


def wsdl_for(service_url: str) -> bytes:
    """The shipped WSDL with ``soap:address`` pointing at ``service_url``."""
    return _read(WSDL_NAME).replace(CANONICAL_ADDRESS, service_url.encode("utf-8"))
