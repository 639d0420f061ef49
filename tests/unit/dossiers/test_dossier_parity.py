"""Every public method of DossierClient has an async twin with the same signature."""

from __future__ import annotations

import inspect

from govlink.dossiers import AsyncDossierClient, DossierClient


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "aclose")
    }


def test_the_async_client_has_every_method_with_the_same_signature() -> None:
    sync, async_ = _public(DossierClient), _public(AsyncDossierClient)
    assert set(sync) == set(async_)
    for name, signature in sync.items():
        assert async_[name].parameters == signature.parameters, name
        assert inspect.iscoroutinefunction(getattr(AsyncDossierClient, name)), name
