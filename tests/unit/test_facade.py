"""The GovLink / AsyncGovLink facades: lazy namespaces, one client each, closing."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

import govlink.client as facade
from govlink import AsyncGovLink, GovLink
from govlink.core.config import GovLinkSettings


class _Recorder:
    instances: list[_Recorder] = []

    def __init__(self, settings: GovLinkSettings, *, transport: Any = None) -> None:
        self.settings = settings
        self.transport = transport
        self.closed = False
        type(self).instances.append(self)


class FakeClient(_Recorder):
    def close(self) -> None:
        self.closed = True


class BrokenClient(_Recorder):
    def close(self) -> None:
        self.closed = True
        raise RuntimeError("pool already gone")


class AsyncFakeClient(_Recorder):
    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fake_platforms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GOVLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("govlink_fake_platform")
    module.FakeClient = FakeClient  # type: ignore[attr-defined]
    module.BrokenClient = BrokenClient  # type: ignore[attr-defined]
    module.AsyncFakeClient = AsyncFakeClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "govlink_fake_platform", module)
    # The real namespaces, pointed at fakes: sso works, dossiers fails to close.
    monkeypatch.setitem(
        facade._NAMESPACES, "sso", ("govlink_fake_platform", "FakeClient", "AsyncFakeClient")
    )
    monkeypatch.setitem(
        facade._NAMESPACES,
        "dossiers",
        ("govlink_fake_platform", "BrokenClient", "AsyncFakeClient"),
    )
    _Recorder.instances.clear()


def test_namespace_is_created_once_with_settings_and_transport() -> None:
    transport = httpx.BaseTransport()  # never called: the facade only hands it over
    with GovLink(GovLinkSettings.load(), transport=transport) as gl:
        first = gl.sso
        assert gl.sso is first
        assert isinstance(first, FakeClient)
        assert first.transport is transport
        assert first.settings is gl.settings
    assert first.closed


def test_leaving_the_block_closes_every_client_even_if_one_fails() -> None:
    gl = GovLink()
    broken, fine = gl.dossiers, gl.sso
    with pytest.raises(RuntimeError, match="pool already gone"):
        gl.close()
    assert broken.closed
    assert fine.closed
    gl.close()  # nothing left open: closing again is harmless


async def test_async_facade_builds_async_clients_and_closes_them() -> None:
    async with AsyncGovLink.from_profile("mock") as gl:
        client = gl.sso
        assert isinstance(client, AsyncFakeClient)
    assert client.closed


def test_from_env_and_from_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOVLINK_HTTP__TIMEOUT", "12")
    assert GovLink.from_env().settings.http.timeout == 12.0
    assert GovLink.from_env(http={"timeout": 5}).settings.http.timeout == 5.0
    profile = tmp_path / "p.toml"
    profile.write_text('[profiles.hue.sso]\nbase_url = "https://sso.example.vn"\n', "utf-8")
    gl = GovLink.from_profile("hue", profile)
    assert gl.settings.profile == "hue"
    assert gl.settings.sso.base_url == "https://sso.example.vn"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with GovLink() as gl, pytest.raises(AttributeError, match="nonsense"):
        gl.nonsense


def test_available_platforms_lists_every_namespace() -> None:
    assert GovLink().available_platforms() == [
        "sso",
        "dossiers",
        "payments",
        "citizens",
        "documents",
    ]
