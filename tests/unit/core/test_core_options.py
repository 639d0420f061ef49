"""Platform options read the same way everywhere; a bad one names its variable."""

from __future__ import annotations

import pytest

from govlink.core.errors import ConfigurationError
from govlink.core.options import PlatformOptions


def test_flags_numbers_text_and_paths_accept_what_env_and_toml_give() -> None:
    read = PlatformOptions(
        "documents",
        {"a": "TRUE", "b": "0", "c": True, "n": "25", "s": "1.5", "t": "x", "p": "a.pem, b.pem"},
    )
    assert read.flag("a", False) is True
    assert read.flag("b", True) is False
    assert read.flag("c", False) is True
    assert read.flag("absent", True) is True
    assert read.whole("n", 1) == 25
    assert read.seconds("s", 0) == 1.5
    assert read.text("t") == "x"
    assert read.paths("p") == ["a.pem", "b.pem"]
    assert PlatformOptions("x", {"p": ["c.pem"]}).paths("p") == ["c.pem"]


@pytest.mark.parametrize(
    ("method", "value"),
    [("flag", "maybe"), ("whole", "0"), ("whole", "ten"), ("seconds", "-1"), ("text", 5)],
)
def test_a_bad_value_names_the_variable_to_fix(method: str, value: object) -> None:
    read = PlatformOptions("sso", {"opt": value})
    call = (
        (lambda: read.text("opt"))
        if method == "text"
        else (lambda: getattr(read, method)("opt", 1))
    )
    with pytest.raises(ConfigurationError) as info:
        call()
    assert info.value.setting == "GOVLINK_SSO__OPTIONS__OPT"


def test_a_junk_documents_flag_is_refused_not_read_as_false() -> None:
    from govlink.core.config import GovLinkSettings

    with pytest.raises(ConfigurationError) as info:
        GovLinkSettings.load(
            documents={"options": {"trust_store": "ca.pem", "allow_sha1": "perhaps"}}
        )
    assert info.value.setting == "GOVLINK_DOCUMENTS__OPTIONS__ALLOW_SHA1"
