"""The status state machine refuses illegal changes before anything is sent."""

from __future__ import annotations

from datetime import datetime

import pytest

from govlink.core.clock import VN_TZ
from govlink.core.errors import ValidationError
from govlink.dossiers import Dossier, DossierStatus, IllegalTransitionError, check_transition
from govlink.dossiers._status import TERMINAL, TRANSITIONS, is_allowed

S = DossierStatus


def test_result_returned_to_processing_is_refused_naming_both_states() -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        check_transition(S.RESULT_RETURNED, S.PROCESSING, ma_ho_so="HS-7")
    error = caught.value
    assert isinstance(error, ValidationError)
    assert (error.from_status, error.to_status) == (S.RESULT_RETURNED, S.PROCESSING)
    text = str(error)
    assert "HS-7" in text
    assert "10 Đã trả kết quả (result returned)" in text
    assert "4 Đang xử lý (processing)" in text
    assert "force=True" in text


def test_force_overrides_the_state_machine() -> None:
    check_transition(S.RESULT_RETURNED, S.PROCESSING, force=True)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (1, 2),
        (1, 3),
        (2, 4),
        (4, 5),
        (5, 4),
        (4, 6),
        (6, 4),
        (4, 9),
        (9, 10),
        (7, 8),
        (7, 4),
        (8, 10),
        (4, 4),
    ],
)
def test_the_usual_flow_is_allowed(old: int, new: int) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), [(10, 4), (10, 1), (3, 4), (9, 4), (8, 4), (1, 10)])
def test_illegal_changes_are_refused(old: int, new: int) -> None:
    assert not is_allowed(old, new)
    with pytest.raises(IllegalTransitionError):
        check_transition(old, new)


def test_terminal_states_and_table_cover_every_known_status() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {S.REFUSED, S.RESULT_RETURNED} == TERMINAL


def test_unknown_codes_do_not_block_but_terminal_stays_terminal() -> None:
    assert is_allowed(4, 42)
    assert is_allowed(42, 4)
    assert not is_allowed(10, 42)


def test_a_new_dossier_may_start_anywhere() -> None:
    check_transition(None, S.PROCESSED)


def test_with_status_checks_and_copies() -> None:
    dossier = Dossier(
        ma_ho_so="HS-1",
        procedure_code="1.001193",
        status=S.PROCESSED,
        received_at=datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
    )
    returned = dossier.with_status(
        S.RESULT_RETURNED, returned_at=datetime(2026, 3, 5, tzinfo=VN_TZ)
    )
    assert returned.status is S.RESULT_RETURNED
    assert dossier.status is S.PROCESSED
    assert returned.to_wire()["NgayTra"] == "20260305000000"
    with pytest.raises(IllegalTransitionError, match="HS-1"):
        returned.with_status(S.PROCESSING)
    assert returned.with_status(S.PROCESSING, force=True).status is S.PROCESSING
