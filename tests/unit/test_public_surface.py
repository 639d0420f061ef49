"""The public surface is deliberate: what users import is listed, the rest is private."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import govlink

ROOT = Path(__file__).resolve().parents[2]

PUBLIC_PACKAGES = [
    "govlink",
    "govlink.sso",
    "govlink.dossiers",
    "govlink.payments",
    "govlink.citizens",
    "govlink.documents",
    "govlink.documents.edxml",
    "govlink.sync",
    "govlink.reports",
    "govlink.testing",
]
# Modules of a public package that are public themselves (their names are also
# re-exported by the package); every other module there is private (``_name``).
PUBLIC_MODULES = {"client", "models", "options", "plugin", "edxml"}
INTERNAL_PACKAGES = ("govlink.core", "govlink.cli", "govlink.demo")


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{package}.__all__ lists a name twice"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("package", PUBLIC_PACKAGES[1:])
def test_implementation_modules_are_private(package: str) -> None:
    module = importlib.import_module(package)
    public = [
        info.name
        for info in pkgutil.iter_modules(module.__path__)
        if not info.name.startswith("_") and info.name not in PUBLIC_MODULES
    ]
    assert not public, (
        f"{package} has implementation modules without a leading underscore: {public}; "
        "make them private and export what users need from the package"
    )


def test_top_level_exports_the_facade_settings_and_errors() -> None:
    for name in ("GovLink", "AsyncGovLink", "GovLinkSettings", "GovLinkError"):
        assert name in govlink.__all__
    facade = govlink.GovLink
    for method in ("from_env", "from_profile", "available_platforms"):
        assert callable(getattr(facade, method))


def test_api_reference_documents_only_the_public_surface() -> None:
    documented: list[str] = []
    for page in sorted((ROOT / "docs" / "reference").glob("*.md")):
        documented += re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.M)
    assert documented
    internal = [
        target
        for target in documented
        if target.startswith(INTERNAL_PACKAGES) or any(p.startswith("_") for p in target.split("."))
    ]
    assert not internal, f"the API reference documents internals: {internal}"
    for package in PUBLIC_PACKAGES:
        if package != "govlink.documents.edxml":
            assert package in documented, f"{package} is public but not in the API reference"
