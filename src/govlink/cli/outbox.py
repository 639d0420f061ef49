"""``govlink outbox``: look into the durable outbox and drive it.

``status`` counts changes per state; ``drain`` delivers what is pending (progress
bar; exit 1 when changes ended in the dead letters); ``worker`` runs as a service
(waits for new changes, ``/healthz`` and ``/metrics``, JSON logs, graceful stop);
``dead`` lists dead changes with the reason; ``retry IDS… | --all`` re-drives them;
``discard IDS…`` gives up on them for good (unblocking the later changes of their
dossiers). SIGTERM acts like Ctrl-C: the batch in flight is handed back.

The outbox is ``--outbox PATH`` (SQLite, default ``./govlink-outbox.db``,
``GOVLINK_OUTBOX``) or ``--outbox-dsn DSN`` (PostgreSQL, ``GOVLINK_OUTBOX_DSN``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UnmaskOption,
    UserError,
    console,
    first_of,
    load_settings,
    masking,
    print_result,
    progress,
)

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings
    from govlink.dossiers import DossierClient
    from govlink.sync import DrainStats, OutboxStatus, SqlOutbox, Worker

__all__ = [
    "OutboxDsnOption",
    "OutboxOption",
    "app",
    "drain_with_progress",
    "open_store",
    "status_dict",
]

app = typer.Typer(
    help="The durable outbox of dossier changes: status, drain, dead letters, retry.",
    no_args_is_help=True,
)

DEFAULT_OUTBOX = Path("govlink-outbox.db")

OutboxOption = Annotated[
    Path,
    typer.Option(
        "--outbox",
        envvar="GOVLINK_OUTBOX",
        help="SQLite outbox file (created if missing).",
        dir_okay=False,
    ),
]
OutboxDsnOption = Annotated[
    str | None,
    typer.Option(
        "--outbox-dsn",
        envvar="GOVLINK_OUTBOX_DSN",
        help="PostgreSQL outbox instead of SQLite, e.g. postgresql://user@host/db "
        "(several workers on several machines).",
        show_default=False,
    ),
]
BatchSizeOption = Annotated[
    int, typer.Option("--batch-size", min=1, max=10_000, help="Changes claimed per batch.")
]
ConcurrencyOption = Annotated[
    int,
    typer.Option("--concurrency", min=1, max=16, help="Batches in flight at once."),
]

LeaseOption = Annotated[
    float,
    typer.Option(
        "--lease-seconds",
        min=0.5,
        help="How long a claimed batch is reserved without a heartbeat; a killed worker's "
        "batch is taken over after this. Keep it above the longest single request.",
    ),
]
MaxAttemptsOption = Annotated[
    int, typer.Option("--max-attempts", min=1, help="Attempts before a dead letter.")
]
BackoffOption = Annotated[
    float,
    typer.Option("--backoff", min=0.0, help="First retry delay in seconds (doubles each time)."),
]


def open_store(path: Path, dsn: str | None) -> SqlOutbox:
    """The outbox the options name (UserError for a directory that does not exist)."""
    from govlink.sync import open_outbox

    if not dsn and not path.expanduser().parent.exists():
        raise UserError(
            f"the outbox directory {path.expanduser().parent} does not exist",
            hint="create it, or pass --outbox with a path in an existing directory",
        )
    return open_outbox(path, dsn=dsn)


def status_dict(status: OutboxStatus) -> dict[str, Any]:
    data = status.as_dict()
    oldest = data.pop("oldest_pending_at")
    data["oldest_pending"] = (
        None if oldest is None else datetime.fromtimestamp(oldest, UTC).isoformat()
    )
    data["oldest_pending_age_seconds"] = None if oldest is None else round(time.time() - oldest, 1)
    return data


def drain_with_progress(
    store: SqlOutbox,
    settings: GovLinkSettings,
    *,
    json_output: bool,
    batch_size: int = 500,
    concurrency: int = 1,
    wait: bool = True,
    max_seconds: float | None = None,
    description: str = "Delivering to DVCQG",
    lease_seconds: float = 300.0,
    max_attempts: int = 10,
    backoff: float = 1.0,
) -> DrainStats:
    """Drain ``store`` through the dossier client with a rich progress bar."""
    from govlink.dossiers import DossierClient

    before = store.status()
    total = before.pending + before.inflight
    with DossierClient(settings) as client, progress(json_output=json_output) as bar:
        task = bar.add_task(description, total=total or None)
        worker = _dossier_worker(
            store,
            client,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            backoff=backoff,
        )

        def advance(batch: Any) -> None:
            bar.advance(task, batch.delivered + batch.dead)

        from govlink.sync import sigterm_as_interrupt

        with sigterm_as_interrupt():  # systemd/docker stop: hand the batch back like Ctrl-C
            return worker.drain(
                wait=wait, max_seconds=max_seconds, on_batch=advance, concurrency=concurrency
            )


def _dossier_worker(
    store: SqlOutbox,
    client: DossierClient,
    *,
    batch_size: int,
    lease_seconds: float,
    max_attempts: int,
    backoff: float,
) -> Worker:
    """A worker that delivers ``store``'s changes to the portal through ``client``."""
    from govlink.dossiers import DossierSink
    from govlink.sync import Worker

    return Worker(
        store,
        DossierSink(client),
        batch_size=batch_size,
        lease_seconds=lease_seconds,
        max_attempts=max_attempts,
        backoff_initial=backoff,
    )


def _render_status(status: OutboxStatus, where: str) -> None:
    from rich.table import Table

    table = Table(title=f"Outbox {where}", show_header=True)
    table.add_column("state")
    table.add_column("changes", justify="right")
    data = status_dict(status)
    for state in ("pending", "inflight", "done", "dead", "discarded"):
        table.add_row(state, f"{data[state]:,}")
    if status.blocked:
        table.add_row("[yellow]blocked[/] (behind a dead change)", f"{status.blocked:,}")
    console().print(table)
    if data["oldest_pending_age_seconds"] is not None:
        console().print(f"oldest pending change: {data['oldest_pending_age_seconds']:.0f} s old")
    if status.dead:
        console().print(
            "[yellow]dead changes need a decision:[/] 'govlink outbox dead' shows why, "
            "'govlink outbox retry --all' re-drives them"
        )


def _where(path: Path, dsn: str | None) -> str:
    if dsn:
        from govlink.sync._postgres import _masked_dsn

        return _masked_dsn(dsn)
    return str(path)


@app.command("status")
def status_cmd(
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    json_output: JsonOption = False,
) -> None:
    """Count the changes in each state (pending, in flight, done, dead, discarded)."""
    with open_store(outbox, outbox_dsn) as store:
        status = store.status()
    where = _where(outbox, outbox_dsn)
    print_result(
        {"outbox": where, **status_dict(status)}, json_output, lambda: _render_status(status, where)
    )


@app.command()
def drain(
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    batch_size: BatchSizeOption = 500,
    concurrency: ConcurrencyOption = 1,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Stop when nothing is deliverable now (skip backoffs)."),
    ] = False,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", min=0.1, help="Stop after this long.", show_default=False),
    ] = None,
    lease_seconds: LeaseOption = 300.0,
    max_attempts: MaxAttemptsOption = 10,
    backoff: BackoffOption = 1.0,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Deliver the pending changes to the portal (retries transient faults)."""
    settings = load_settings(profile, profile_file)
    with open_store(outbox, outbox_dsn) as store:
        stats = drain_with_progress(
            store,
            settings,
            json_output=json_output,
            batch_size=batch_size,
            concurrency=concurrency,
            wait=not no_wait,
            max_seconds=max_seconds,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            backoff=backoff,
        )
        status = store.status()

    def delivered() -> None:
        rate = stats.delivered / stats.elapsed if stats.elapsed else 0.0
        console().print(
            f"delivered {stats.delivered:,} change(s) in {stats.elapsed:.1f} s "
            f"({rate:,.0f}/s); {stats.retried:,} retried; {stats.dead:,} dead-lettered"
        )
        _render_status(status, _where(outbox, outbox_dsn))

    print_result(
        {
            "delivered": stats.delivered,
            "retried": stats.retried,
            "dead": stats.dead,
            "batches": stats.batches,
            "elapsed_seconds": round(stats.elapsed, 3),
            "outbox": status_dict(status),
        },
        json_output,
        delivered,
    )
    if status.dead:
        raise typer.Exit(1)


def _parse_http(value: str) -> tuple[str, int] | None:
    if value.lower() in ("off", "none", ""):
        return None
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--http {value!r} is not HOST:PORT", hint="e.g. 127.0.0.1:9479, or off")
    return host or "127.0.0.1", int(port)


def _json_logs(level: int) -> None:
    import logging
    import sys

    from govlink.sync._service import JsonLogFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("govlink")
    root.handlers = [handler]
    root.setLevel(level)
    root.propagate = False


@app.command()
def worker(
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    batch_size: BatchSizeOption = 500,
    concurrency: ConcurrencyOption = 1,
    lease_seconds: LeaseOption = 60.0,
    max_attempts: MaxAttemptsOption = 10,
    backoff: BackoffOption = 1.0,
    http: Annotated[
        str,
        typer.Option(
            "--http",
            envvar="GOVLINK_OUTBOX_HTTP",
            help="Where to serve /healthz and /metrics (HOST:PORT), or 'off'.",
        ),
    ] = "127.0.0.1:9479",
    poll_max: Annotated[
        float,
        typer.Option(
            "--poll-max", min=0.1, help="Longest wait between two looks at an idle outbox."
        ),
    ] = 5.0,
    log_format: Annotated[
        str, typer.Option("--log-format", help="json (one object per line) or text.")
    ] = "json",
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
) -> None:
    """Run as a service: deliver changes as they come, until SIGTERM/SIGINT."""
    import logging

    from govlink.dossiers import DossierClient
    from govlink.sync._service import OutboxService, graceful_signals

    if log_format not in ("json", "text"):
        raise UserError(f"--log-format {log_format!r}", hint="json or text")
    address = _parse_http(http)
    if log_format == "json":
        _json_logs(logging.INFO)
    else:
        logging.getLogger("govlink").setLevel(logging.INFO)
    settings = load_settings(profile, profile_file)
    with (
        open_store(outbox, outbox_dsn) as store,
        open_store(outbox, outbox_dsn) as status_store,
        DossierClient(settings) as client,
    ):
        service = OutboxService(
            _dossier_worker(
                store,
                client,
                batch_size=batch_size,
                lease_seconds=lease_seconds,
                max_attempts=max_attempts,
                backoff=backoff,
            ),
            status_store=status_store,
            dsn=outbox_dsn,
            concurrency=concurrency,
            poll_max=poll_max,
        )
        try:
            if address is not None:
                try:
                    host, port = service.serve_http(*address)
                except OSError as exc:
                    raise UserError(
                        f"cannot serve /healthz and /metrics on {http}: {exc.strerror}",
                        hint="pick a free port with --http HOST:PORT, or --http off",
                    ) from None
                logging.getLogger("govlink.sync._service").info(
                    "serving /healthz and /metrics",
                    extra={"event": "http", "url": f"http://{host}:{port}/"},
                )
            with graceful_signals(service.stop):
                service.run()
        finally:
            service.close()


@app.command()
def dead(
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 50,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """List dead changes with the reason they were given up on."""
    from govlink.core.redact import redact_mapping, redact_text

    with open_store(outbox, outbox_dsn) as store:
        items = store.items("dead", limit=limit)
    with masking(unmask):
        rows = [
            {
                "id": item.id,
                "kind": item.kind,
                "ma_ho_so": item.key,
                "attempts": item.attempts,
                "reason": redact_text(item.last_error or ""),
                "updated_at": datetime.fromtimestamp(item.updated_at, UTC).isoformat(),
                "payload": redact_mapping(item.payload_json()),
            }
            for item in items
        ]
        print_result(rows, json_output, lambda: _print_dead(rows))


def _print_dead(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console().print("no dead changes")
        return
    from rich.table import Table

    table = Table(title=f"Dead changes ({len(rows)})")
    for column in ("id", "kind", "MaHoSo", "attempts", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]), row["kind"], row["ma_ho_so"], str(row["attempts"]), row["reason"]
        )
    console().print(table)
    console().print("re-drive with 'govlink outbox retry ID…' or give up with 'discard ID…'")


@app.command()
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Ids of dead changes.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Re-drive every dead change.")] = False,
    drain_now: Annotated[
        bool, typer.Option("--drain", help="Deliver them right away (uses the profile).")
    ] = False,
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Put dead changes back in the queue (attempts start over)."""
    if not ids and not all_dead:
        raise UserError("say which dead changes to retry", hint="pass their ids, or --all")
    if ids and all_dead:
        raise UserError("pass either ids or --all, not both")
    with open_store(outbox, outbox_dsn) as store:
        if ids:
            unknown = sorted(
                i for i in set(ids) if (item := store.get(i)) is None or item.state != "dead"
            )
            if unknown:
                raise UserError(
                    f"not dead change(s): {first_of(unknown)}; nothing was retried",
                    hint="'govlink outbox dead' lists the dead changes and their ids",
                )
        count = store.retry(None if all_dead else list(ids or []), now=time.time())
        stats = None
        if drain_now and count:
            stats = drain_with_progress(
                store, load_settings(profile, profile_file), json_output=json_output
            )
        status = store.status()

    def retried() -> None:
        console().print(f"{count} dead change(s) back in the queue")
        if stats is not None:
            console().print(f"delivered {stats.delivered}; dead again {stats.dead}")

    print_result(
        {
            "retried": count,
            "delivered": None if stats is None else stats.delivered,
            "outbox": status_dict(status),
        },
        json_output,
        retried,
    )
    if status.dead and drain_now:
        raise typer.Exit(1)


@app.command()
def discard(
    ids: Annotated[list[int], typer.Argument(help="Ids of dead changes to give up on.")],
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    json_output: JsonOption = False,
) -> None:
    """Give up on dead changes for good; later changes of their dossiers go on."""
    with open_store(outbox, outbox_dsn) as store:
        count = store.discard(list(ids), now=time.time())
    print_result({"discarded": count}, json_output, f"{count} dead change(s) discarded")
    if count != len(set(ids)):
        raise UserError(
            f"{len(set(ids)) - count} of the ids are not dead changes",
            hint="'govlink outbox dead' lists them",
        )
