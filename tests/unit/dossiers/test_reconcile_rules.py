"""Which class a dossier falls in, and what --fix would queue for it (no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, ResultDocument
from govlink.dossiers._reconcile import (
    OutboxBlock,
    ReconcileClass,
    ReconcileSummary,
    classify,
    plan_fix,
)

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=VN_TZ)


def dossier(status: int, *, due_in_days: float | None = 10, results: int = 0) -> Dossier:
    return Dossier(
        ma_ho_so="H40.1-260601-0001",
        procedure_code="1.001193",
        status=status,
        received_at=NOW - timedelta(days=5),
        due_at=None if due_in_days is None else NOW + timedelta(days=due_in_days),
        result_documents=[
            ResultDocument(result_code=f"KQ{i}", name=f"Giấy {i}") for i in range(results)
        ]
        or None,
    )


def test_same_status_is_in_sync() -> None:
    entry = classify(dossier(4), dossier(4), now=NOW)
    assert entry.kind is ReconcileClass.IN_SYNC
    assert plan_fix(entry).dossier is None


def test_missing_on_portal_is_created() -> None:
    entry = classify(dossier(2), None, now=NOW)
    assert entry.kind is ReconcileClass.MISSING_ON_PORTAL
    assert entry.portal_status is None
    fix = plan_fix(entry)
    assert fix.dossier is not None
    assert fix.is_updating is False


def test_status_differs_shows_both_and_updates() -> None:
    entry = classify(dossier(5), dossier(4), now=NOW)
    assert entry.kind is ReconcileClass.STATUS_DIFFERS
    assert (int(entry.local_status), int(entry.portal_status or 0)) == (5, 4)
    assert entry.as_dict()["local_status"] == 5
    assert entry.as_dict()["portal_status"] == 4
    fix = plan_fix(entry)
    assert fix.dossier is not None
    assert fix.is_updating is True
    assert not fix.forced


def test_final_locally_but_not_on_portal_is_stuck() -> None:
    entry = classify(dossier(10, results=1), dossier(9), now=NOW)
    assert entry.kind is ReconcileClass.STUCK
    assert "final locally" in entry.reason
    assert plan_fix(entry).dossier is not None  # 9 -> 10 is allowed


def test_appointment_passed_and_not_final_is_stuck_without_a_fix() -> None:
    late = dossier(4, due_in_days=-2)
    entry = classify(late, dossier(4, due_in_days=-2), now=NOW)
    assert entry.kind is ReconcileClass.STUCK
    assert "appointment date" in entry.reason
    fix = plan_fix(entry)
    assert fix.dossier is None
    assert fix.refused
    assert "late" in fix.refused


def test_final_dossier_past_its_appointment_is_not_stuck() -> None:
    done = dossier(10, due_in_days=-30, results=1)
    assert classify(done, done, now=NOW).kind is ReconcileClass.IN_SYNC


def test_results_missing_on_portal() -> None:
    entry = classify(dossier(10, results=2), dossier(10, results=1), now=NOW)
    assert entry.kind is ReconcileClass.RESULTS_MISSING
    assert "1 of 2" in entry.reason
    fix = plan_fix(entry)
    assert fix.dossier is not None
    assert fix.dossier.result_documents
    assert len(fix.dossier.result_documents) == 2


def test_blocked_outbox_wins_and_is_never_requeued() -> None:
    block = OutboxBlock("dead", 7200.0, "PlatformError [-1]: refused")
    entry = classify(dossier(5), None, blocked=block, now=NOW)
    assert entry.kind is ReconcileClass.BLOCKED
    assert "dead in the outbox for 2.0 h" in entry.reason
    assert entry.as_dict()["outbox_reason"] == "PlatformError [-1]: refused"
    assert plan_fix(entry).dossier is None


def test_a_refused_transition_is_reported_and_forced_only_on_request() -> None:
    entry = classify(dossier(2), dossier(10, results=1), now=NOW)  # portal 10 -> local 2
    assert entry.kind is ReconcileClass.STATUS_DIFFERS
    refused = plan_fix(entry)
    assert refused.dossier is None
    assert refused.refused is not None
    assert "10 → 2" in refused.refused
    forced = plan_fix(entry, force=True)
    assert forced.dossier is not None
    assert forced.forced


def test_summary_has_exactly_the_class_keys() -> None:
    summary = ReconcileSummary()
    summary.add(classify(dossier(2), None, now=NOW))
    assert set(summary.as_dict()) == {
        "in_sync",
        "missing_on_portal",
        "status_differs",
        "results_missing",
        "stuck",
        "blocked",
    }
    assert summary.differences == 1


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_concurrency_must_be_a_positive_whole_number(bad: object) -> None:
    from govlink.core.errors import ValidationError
    from govlink.dossiers._reconcile import reconcile

    with pytest.raises(ValidationError, match="concurrency"):
        list(reconcile(object(), [], concurrency=bad))  # type: ignore[arg-type]


def test_reconcile_streams_with_flat_memory() -> None:
    """Entries come back in input order while the input is still being read."""
    import tracemalloc
    from collections.abc import Iterator

    from govlink.dossiers._reconcile import reconcile

    template = dossier(4)

    class Portal:
        def get(self, code: str) -> Dossier:
            return template

    def register(n: int) -> Iterator[Dossier]:
        for i in range(n):
            yield template.model_copy(update={"ma_ho_so": f"M-{i:07d}"})

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            seen = 0
            for entry in reconcile(Portal(), register(n), concurrency=8, now=lambda: NOW):
                assert entry.dossier_code == f"M-{seen:07d}"
                seen += 1
            assert seen == n
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(2_000), peak(20_000)
    assert large < small * 2  # ten times the dossiers, not ten times the memory
