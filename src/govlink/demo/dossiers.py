"""Demo step: a synthetic day of dossiers through the durable outbox, under faults.

300 dossiers of the seeded procedures and citizens walk through realistic status
progressions (received → processing → processed → result returned; some with a
supplement request, a fee request, or refused at intake), with progress steps.
Every change is queued in a fresh SQLite outbox, then drained to the DVCQG mock
while 30 % of its calls fail (HTTP 503, dropped connections, and garbled replies
*after* the mock applied the batch, which force redeliveries). The mock's own
record then shows every change applied exactly once, in order.

One dossier with a fee is left in ``demo.state["dossier"]`` for the payment and
population-database steps, and the province's register of the day (each dossier's
last state) in ``demo.state["register"]`` for the reconcile step.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings
    from govlink.demo import DemoContext
    from govlink.sync import DrainStats, SqlOutbox

__all__ = ["DOSSIERS", "FAULTS", "run"]

DOSSIERS = 300
FAULTS: tuple[dict[str, Any], ...] = (
    {"name": "demo: portal unavailable", "status": 503, "probability": 0.10, "seed": 501},
    {
        "name": "demo: connection dropped",
        "reset_connection": True,
        "probability": 0.11,
        "seed": 502,
    },
    {"name": "demo: garbled reply", "malformed_body": True, "probability": 0.125, "seed": 503},
)
"""≈30 % of calls fail: 1 − 0.90 × 0.89 × 0.875 ≈ 0.30."""

# Status paths a dossier takes during the day (codes of TrangThaiHoSo).
PATHS: tuple[tuple[tuple[int, ...], int], ...] = (
    ((1, 2, 4, 9, 10), 55),  # the usual way
    ((1, 2, 4, 5, 2, 4, 9, 10), 15),  # supplement requested, then re-received
    ((1, 2, 4, 6, 9, 10), 15),  # a fee to pay before the result
    ((1, 2, 4), 10),  # still being processed at the end of the day
    ((1, 3), 5),  # refused at intake
)


@dataclass
class _Planned:
    code: str
    procedure: dict[str, Any]
    citizen: dict[str, Any]
    statuses: tuple[int, ...]


def _seed(demo: DemoContext, section: str) -> list[dict[str, Any]]:
    items = demo.admin.get(f"/seed/{section}").json()
    if not isinstance(items, list) or not items:
        raise RuntimeError(f"the mock has no seeded {section} (GET /__admin/seed/{section})")
    return [item for item in items if isinstance(item, dict)]


def _plan(demo: DemoContext, rng: random.Random) -> list[_Planned]:
    procedures, citizens = _seed(demo, "procedures"), _seed(demo, "citizens")
    paths = [path for path, _w in PATHS]
    weights = [weight for _p, weight in PATHS]
    return [
        _Planned(
            code=f"H47.99-{time.strftime('%y%m%d')}-{n:05d}",
            procedure=rng.choice(procedures),
            citizen=rng.choice(citizens),
            statuses=rng.choices(paths, weights)[0],
        )
        for n in range(1, DOSSIERS + 1)
    ]


def _full_name(citizen: dict[str, Any]) -> str:
    parts = (citizen.get("ho"), citizen.get("chu_dem"), citizen.get("ten"))
    return " ".join(str(p) for p in parts if p)


def _enqueue_day(
    outbox: SqlOutbox, plan: list[_Planned], start: datetime, register: dict[str, Any]
) -> list[str]:
    """Queue the day in time order (step k of every dossier before step k+1); keys queued.

    ``register`` receives each dossier's last state: the province's own record, which
    the reconcile step compares with the portal.
    """
    from govlink.dossiers import (
        Dossier,
        ProgressRecord,
        ResultDocument,
        enqueue_dossiers,
        enqueue_progress,
    )

    keys: list[str] = []
    longest = max(len(p.statuses) for p in plan)
    for step in range(longest):
        dossiers, steps = [], []
        for index, item in enumerate(plan):
            if step >= len(item.statuses):
                continue
            status = item.statuses[step]
            at = start + timedelta(minutes=index + 45 * step)
            dossier = Dossier(
                ma_ho_so=item.code,
                procedure_code=item.procedure["ma_tthc"],
                procedure_name=item.procedure.get("ten_tthc"),
                field_code=item.procedure.get("ma_linh_vuc"),
                field_name=item.procedure.get("ten_linh_vuc"),
                status=status,
                received_at=start + timedelta(minutes=index),
                due_at=start + timedelta(days=5),
                owner_name=_full_name(item.citizen),
                owner_id_number=item.citizen.get("so_dinh_danh"),
                applicant_type=1,
                phone=item.citizen.get("so_dien_thoai"),
                handling_unit=item.procedure.get("co_quan"),
                returned_at=at if status == 10 else None,
                refused_at=at if status == 3 else None,
                result_documents=[
                    ResultDocument(
                        result_code=f"KQ-{item.code}", name=item.procedure.get("ten_tthc")
                    )
                ]
                if status == 10
                else None,
            )
            dossiers.append((dossier, step > 0))
            register[item.code] = dossier
            if status in (2, 4, 5, 6, 9):
                steps.append(
                    ProgressRecord(
                        ma_ho_so=item.code,
                        handler="Cán bộ một cửa",
                        handled_at=at,
                        status=status,
                        content=f"Chuyển trạng thái {status}",
                    )
                )
        for is_updating in (False, True):
            batch = [d for d, updating in dossiers if updating is is_updating]
            if batch:
                enqueue_dossiers(outbox, batch, is_updating=is_updating)
        if steps:
            enqueue_progress(outbox, steps)
    keys.extend(queued.idempotency_key for queued in outbox.items(limit=10 * DOSSIERS * longest))
    return keys


def _drain(demo: DemoContext, outbox: SqlOutbox, total: int) -> DrainStats:
    # Retry quickly and quietly: the faults are injected on purpose.
    http = demo.settings.http.model_copy(update={"backoff_initial": 0.02, "backoff_max": 0.2})
    settings = demo.settings.model_copy(update={"http": http})
    quiet = [logging.getLogger(name) for name in ("govlink.http", "govlink.sync")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        return _drain_quietly(demo, outbox, total, settings)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _drain_quietly(
    demo: DemoContext, outbox: SqlOutbox, total: int, settings: GovLinkSettings
) -> DrainStats:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from govlink.dossiers import DossierClient, DossierSink
    from govlink.sync import Worker

    with (
        DossierClient(settings) as client,
        Progress(
            TextColumn("  [progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=demo.console,
            transient=False,
        ) as bar,
    ):
        task = bar.add_task("delivering through the outbox", total=total)
        worker = Worker(
            outbox,
            DossierSink(client),
            batch_size=50,
            backoff_initial=0.05,
            backoff_max=1.0,
            max_attempts=100,
        )
        return worker.drain(
            max_seconds=120, on_batch=lambda b: bar.advance(task, b.delivered + b.dead)
        )


def _keep_one(demo: DemoContext, plan: list[_Planned]) -> _Planned:
    """A dossier with a fee, preferably one whose fee was requested (status 6)."""
    with_fee = [p for p in plan if int(p.procedure.get("le_phi", 0) or 0) > 0]
    for candidates in ([p for p in with_fee if 6 in p.statuses], with_fee, plan):
        if candidates:
            return candidates[0]
    raise RuntimeError("no dossier planned")  # pragma: no cover - plan is never empty


def run(demo: DemoContext) -> None:
    import httpx

    from govlink.core.clock import VN_TZ
    from govlink.sync import SqliteOutbox

    out = demo.console
    rng = random.Random(2026)
    plan = _plan(demo, rng)
    start = datetime.now(VN_TZ).replace(hour=7, minute=30, second=0, microsecond=0)

    with tempfile.TemporaryDirectory(prefix="govlink-demo-") as tmp:
        outbox = SqliteOutbox(Path(tmp) / "outbox.db")
        try:
            register: dict[str, Any] = {}
            keys = _enqueue_day(outbox, plan, start, register)
            demo.state["register"] = list(register.values())
            out.print(
                f"• {len(plan)} dossiers, {len(keys)} status and progress changes queued "
                "durably in the outbox (SQLite, WAL, synchronous=FULL)"
            )
            fault_ids = []
            for fault in FAULTS:
                added = demo.admin.post("/faults", json={"platform": "dossiers", **fault})
                added.raise_for_status()
                fault_ids.append(added.json()["id"])
            out.print("• the DVCQG mock now fails ~30 % of calls (503, dropped, garbled replies)")
            began = time.perf_counter()
            try:
                stats = _drain(demo, outbox, len(keys))
            finally:
                fired = 0
                for fault_id in fault_ids:
                    listed = demo.admin.get("/faults").json().get("faults", [])
                    fired += sum(f.get("fired", 0) for f in listed if f.get("id") == fault_id)
                    demo.admin.delete(f"/faults/{fault_id}")
            elapsed = time.perf_counter() - began
            status = outbox.status()
        finally:
            outbox.close()

    received = httpx.get(f"{demo.mock_base_url}/dvcqg/_mock/received", timeout=60).json()
    summary = received["summary"]
    missing = set(keys) - set(received["deliveries"])
    out.print(
        f"• delivered {stats.delivered} changes in {elapsed:.1f} s despite {fired} injected "
        f"faults ({stats.retried} retried, {stats.dead} dead-lettered)"
    )
    if missing or summary["applied_more_than_once"] or status.done != len(keys):
        raise RuntimeError(
            f"the mock is missing {len(missing)} change(s) or applied some twice "
            f"({summary['applied_more_than_once']}); outbox: {status.as_dict()}"
        )
    out.print(
        f"[green]✓[/] the mock applied every one of the {len(keys)} changes exactly once, "
        f"in order per dossier; {summary['duplicate_deliveries']} redeliveries were "
        "recognised by their idempotency key and ignored"
    )
    by_status = ", ".join(f"{code}: {n}" for code, n in summary["by_status"].items())
    out.print(f"  dossiers on the portal by status — {by_status}")

    kept = _keep_one(demo, plan)
    demo.state["dossier"] = {
        "ma_ho_so": kept.code,
        "MaHoSo": kept.code,
        "ma_tthc": kept.procedure["ma_tthc"],
        "procedure_code": kept.procedure["ma_tthc"],
        "ten_tthc": kept.procedure.get("ten_tthc"),
        "le_phi": kept.procedure.get("le_phi"),
        "chu_ho_so": _full_name(kept.citizen),
        "owner_name": _full_name(kept.citizen),
        "so_dinh_danh": kept.citizen.get("so_dinh_danh"),
        "so_giay_to_chu_ho_so": kept.citizen.get("so_dinh_danh"),
        "status": kept.statuses[-1],
    }
    out.print(f"• kept dossier {kept.code} ({kept.procedure.get('ten_tthc')}) for the next steps")
