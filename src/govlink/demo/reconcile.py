"""Demo step: the portal drifts from the province; reconcile finds it and fixes it.

The DVCQG mock is made to lose some dossiers, keep stale statuses of others and drop
result documents (its ``drift`` switch), as provinces report of the real portal. The
province's register of the day (from the dossier step) is then reconciled: every
difference is found and classified, ``--fix`` queues exactly the changes that bring
the portal in line, the outbox delivers them, and a second reconcile finds everything
in sync. The indicators are computed before and after.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govlink.demo import DemoContext

__all__ = ["DRIFT", "run"]

DRIFT: dict[str, Any] = {"lose": 0.04, "stale": 0.06, "drop_results": 0.06, "seed": 2026}


def run(demo: DemoContext) -> None:
    from govlink.dossiers import DossierClient, DossierSink
    from govlink.dossiers._outbox import enqueue_dossiers
    from govlink.dossiers._reconcile import ReconcileClass, outbox_blocks, plan_fix, reconcile
    from govlink.reports import compute_indicators
    from govlink.sync import SqliteOutbox, Worker

    out = demo.console
    register = demo.state.get("register")
    if not register:
        raise RuntimeError("the dossier step left no register to reconcile")
    demo.admin.post("/platforms/dossiers/switches", json={"drift": DRIFT}).raise_for_status()
    out.print("• the portal drifted: some dossiers lost, some statuses stale, some results dropped")
    with tempfile.TemporaryDirectory(prefix="govlink-demo-") as tmp:
        outbox = SqliteOutbox(Path(tmp) / "outbox.db")
        try:
            with DossierClient(demo.settings) as client:
                entries = list(
                    reconcile(client, register, concurrency=8, blocked=outbox_blocks(outbox))
                )
                counts = Counter(e.kind.value for e in entries)
                before = compute_indicators(entries).total
                shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
                out.print(f"• reconcile of {len(entries)} dossiers — {shown}")
                queued = 0
                for entry in entries:
                    fix = plan_fix(entry)
                    if fix.dossier is not None:
                        enqueue_dossiers(
                            outbox,
                            [fix.dossier],
                            is_updating=fix.is_updating,
                            force=True,
                            check_queued=False,
                        )
                        queued += 1
                stats = Worker(outbox, DossierSink(client), batch_size=100).drain()
                out.print(f"• --fix queued {queued} change(s); delivered {stats.delivered}")
                after_entries = list(reconcile(client, register, concurrency=8))
        finally:
            outbox.close()
    after = compute_indicators(after_entries).total
    left = [e for e in after_entries if e.kind is not ReconcileClass.IN_SYNC]
    stuck_late = [e for e in left if e.kind is ReconcileClass.STUCK and e.portal_status]
    if len(left) != len(stuck_late) or counts[ReconcileClass.IN_SYNC.value] == len(entries):
        raise RuntimeError(
            f"reconcile did not converge: {len(left)} dossier(s) still differ after --fix"
        )
    out.print(
        f"[green]✓[/] after --fix every dossier is in sync with the portal "
        f"(statuses synced {_pct(before.share('status_synced'))} → "
        f"{_pct(after.share('status_synced'))}, results synced "
        f"{_pct(before.share('results_synced'))} → {_pct(after.share('results_synced'))})"
    )


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"
