"""Open code tables keep codes govlink does not know, instead of failing a reply."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from govlink.core.codes import OpenIntEnum, OpenStrEnum


class Colour(OpenStrEnum):
    RED = "R"
    GREEN = "G"


class Level(OpenIntEnum):
    LOW = 1
    HIGH = 2


def test_known_codes_are_the_members() -> None:
    assert Colour("R") is Colour.RED
    assert Colour(" G ") is Colour.GREEN
    assert Level("2") is Level.HIGH
    assert Colour.RED.known


def test_unknown_codes_parse_compare_and_round_trip() -> None:
    blue = Colour("B")
    assert not blue.known
    assert blue == "B"
    assert blue.name == "UNKNOWN_B"
    forty_two = Level(" 42 ")
    assert forty_two == 42
    assert not forty_two.known
    assert forty_two.name == "UNKNOWN_42"


def test_values_that_are_no_code_at_all_are_refused() -> None:
    for bad in ("", "   ", None, 3.5):
        with pytest.raises(ValueError):
            Colour(bad)
    for bad_int in ("x", "4a", None):
        with pytest.raises(ValueError):
            Level(bad_int)


def test_pydantic_models_keep_unknown_codes() -> None:
    class Reply(BaseModel):
        colour: Colour
        level: Level

    reply = Reply.model_validate({"colour": "Z", "level": "7"})
    assert reply.colour == "Z"
    assert reply.level == 7
    assert reply.model_dump(mode="json") == {"colour": "Z", "level": 7}
