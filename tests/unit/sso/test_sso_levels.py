"""Level comparisons: numbers decide, unknown levels never pass."""

from __future__ import annotations

import pytest

from govlink.sso import InsufficientAssuranceError, meets_level
from govlink.sso._assurance import check_level, level_number, weakest_level


@pytest.mark.parametrize(
    ("value", "number"),
    [("LoA2", 2), ("IAL1", 1), ("2", 2), (3, 3), ("none", None), (None, None), (True, None)],
)
def test_level_number(value: object, number: int | None) -> None:
    assert level_number(value) == number


def test_the_weakest_requested_level_is_the_minimum() -> None:
    assert weakest_level("LoA3 LoA2") == "LoA2"
    assert weakest_level(None) is None
    assert weakest_level("") is None


def test_meets_level() -> None:
    assert meets_level("LoA2", "LoA2")
    assert meets_level("LoA3", "LoA2")
    assert not meets_level("LoA1", "LoA2")
    assert not meets_level(None, "LoA1")
    assert not meets_level("unknown", "LoA1")


def test_acr_missing_or_weaker_is_refused_and_vneid_claims_only_tighten() -> None:
    with pytest.raises(InsufficientAssuranceError, match="no level at all"):
        check_level("LoA1", {})
    with pytest.raises(InsufficientAssuranceError):
        check_level("LoA2", {"acr": "LoA1"})
    check_level("LoA2", {"acr": "LoA2"})
    with pytest.raises(InsufficientAssuranceError, match="IAL"):
        check_level("LoA2", {"acr": "LoA2"}, ial="1")
    with pytest.raises(InsufficientAssuranceError, match="loAs"):
        check_level("LoA2", {"acr": "LoA2"}, loa_levels=("LoA1",))
    check_level("LoA2", {"acr": "LoA3"}, ial="2", loa_levels=("LoA1", "LoA2"))
