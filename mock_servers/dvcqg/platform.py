"""The DVCQG dossier-sync mock: session login, the integration services, a record.

Routes (under ``/dvcqg``):

* ``POST /auth`` (also ``/api/auth``) — ``{"username", "password"}`` →
  ``{"session", "error_code": 0, "expires_in"}``; accounts are the seed's
  ``clients`` of kind ``dvcqg`` (with their ``dstcode`` header when the account has
  one). Sessions expire by the virtual clock (``session_ttl`` switch, default
  1800 s) and are pruned at the next login.
* ``POST /integration`` (also ``/api/integration``) — ``{"session", "madonvi",
  "service", …}`` with the session's ``dstcode`` header: ``DongBoHoSoMC``
  (``isUpdating`` "True"/"False"), ``CapNhatTienDoHoSoMC``, ``TraCuuHoSo``
  (``mahoso``), ``LayThuTuc`` (``maTTHC``, :mod:`.catalogue`) and the statistics /
  Q&A / ``LayDVC`` / ``DongBoTrangThaiHoSo`` services (:mod:`.feedback`).
* ``POST /share`` (also ``/api/share``) — the sharing services ``LayDanhSachTTHC``,
  ``LayDanhMucCoQuan``, ``LayDanhMucLinhVuc``, ``TraCuuTechID`` ([OC]).
* ``POST /proxy/create|update|progress`` — a provincial proxy ([TD]): bare arrays.
* ``GET /_mock/received`` — not a portal route: what was applied, per idempotency
  key and per dossier, for tests and the demo to verify exactly-once and order.
* ``/_mock/submitted``, ``/_mock/deliver`` — dossiers that flow down
  (:mod:`.inbound`).

Top-level codes: ``00`` ok, ``01`` login refused, ``02`` session expired or unknown,
``03`` unknown service, ``04`` malformed request, ``10`` some items refused (see
``result``), ``15`` not found, ``99`` portal busy (``busy`` switch). Item codes are
in :mod:`mock_servers.dvcqg.validation`.

State: the store keeps an *applied log* — one entry per request: the request body as
received and which of its items were applied — plus sessions, duplicate counts and
counters. Everything else
(dossiers by ``MaHoSo``, progress, per-dossier history, the set of idempotency keys)
is an in-memory index derived from that log and rebuilt from it after a restart
with ``--state FILE.db``. Writing once per request rather than once per item is
what keeps 100,000 changes cheap.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.dvcqg.catalogue import CatalogueServices
from mock_servers.dvcqg.feedback import FeedbackServices
from mock_servers.dvcqg.inbound import Submissions
from mock_servers.dvcqg.validation import check_dossier, check_progress
from mock_servers.dvcqg.wire import error, json_body, reply
from mock_servers.platform import MockPlatform

__all__ = ["IDEMPOTENCY_FIELD", "DvcqgPlatform", "create_platform"]

IDEMPOTENCY_FIELD = "IdempotencyKey"
DEFAULT_SESSION_TTL = 1800

NS_SESSIONS = "dossiers.sessions"
NS_APPLIED = "dossiers.applied"
NS_DUPLICATES = "dossiers.duplicates"
NS_STATS = "dossiers.stats"
SERVICE_SYNC = "DongBoHoSoMC"
SERVICE_PROGRESS = "CapNhatTienDoHoSoMC"


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


@dataclass
class _Index:
    """What the hot path needs in memory; rebuilt from the store when missing."""

    deliveries: dict[str, int] = field(default_factory=dict)
    """Idempotency key → how many times it was received and accepted."""
    history: dict[str, list[str]] = field(default_factory=dict)
    """MaHoSo → the keys applied for it, in the order they were applied."""
    dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """MaHoSo → the dossier as last applied (wire form, without the idempotency key)."""
    progress: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    counters: Counter[str] = field(default_factory=Counter)


class DvcqgPlatform(MockPlatform):
    name = "dossiers"
    prefix = "/dvcqg"
    title = "DVCQG — dossier status sync (National Public Service Portal)"
    switch_names = ("session_ttl", "busy", "deliver_to")

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._lock = threading.RLock()
        self._index: _Index | None = None
        self.catalogue = CatalogueServices(ctx, self._procedures)
        self.feedback = FeedbackServices(
            ctx,
            count=self._count,
            procedures=self._procedures,
            agency_names=self.catalogue.agency_names,
        )
        self.submissions = Submissions(ctx, self._lock, self.name)
        self._app = Starlette(
            routes=[
                Route("/auth", self.login, methods=["POST"]),
                Route("/api/auth", self.login, methods=["POST"]),
                Route("/integration", self.integration, methods=["POST"]),
                Route("/api/integration", self.integration, methods=["POST"]),
                Route("/share", self.share, methods=["POST"]),
                Route("/api/share", self.share, methods=["POST"]),
                Route("/proxy/create", self.proxy_create, methods=["POST"]),
                Route("/proxy/update", self.proxy_update, methods=["POST"]),
                Route("/proxy/progress", self.proxy_progress, methods=["POST"]),
                Route("/_mock/received", self.received, methods=["GET"]),
                Route("/_mock/submitted", self.submissions.listing, methods=["GET"]),
                Route("/_mock/submitted", self.submissions.submit, methods=["POST"]),
                Route("/_mock/deliver", self.submissions.deliver, methods=["POST"]),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app

    # --- state --------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            super().reset()
            self._index = None

    def _idx(self) -> _Index:
        if self._index is None:
            self._index = self._rebuild()
        return self._index

    def _rebuild(self) -> _Index:
        """The index from the store's applied log (after a restart with ``--state``)."""
        store = self.ctx.store
        index = _Index()
        for _seq, entry in sorted(store.items(NS_APPLIED)):
            index.seq += 1
            sent = json.loads(entry["body"]).get("data", [])
            if "applied" in entry:  # positions; key and MaHoSo are in the items themselves
                for position in entry["applied"]:
                    record = dict(sent[position])
                    key = record.pop(IDEMPOTENCY_FIELD, None)
                    key = key if isinstance(key, str) and key else None
                    self._apply(index, entry.get("service"), key, str(record["MaHoSo"]), record)
                continue
            for position, key, ma in entry.get("items", []):  # the earlier format
                record = dict(sent[position])
                record.pop(IDEMPOTENCY_FIELD, None)
                self._apply(index, entry.get("service"), key, ma, record)
        for key, count in store.items(NS_DUPLICATES):
            index.deliveries[key] = int(count)
        counters = store.get(NS_STATS, "counters")
        if isinstance(counters, dict):
            index.counters.update({k: int(v) for k, v in counters.items()})
        return index

    @staticmethod
    def _apply(
        index: _Index, service: Any, key: str | None, ma: str, record: dict[str, Any]
    ) -> None:
        if key:
            index.deliveries[key] = 1
        index.history.setdefault(ma, []).append(key or "")
        if service == SERVICE_SYNC:
            index.dossiers[ma] = record
            index.status[ma] = str(record.get("TrangThaiHoSo", "")).strip()
        else:
            index.progress.setdefault(ma, []).append(record)

    def _save_counters(self, index: _Index) -> None:
        self.ctx.store.put(NS_STATS, "counters", dict(index.counters))

    def _count(self, name: str, n: int) -> None:
        with self._lock:
            index = self._idx()
            index.counters[name] += n
            self._save_counters(index)

    def apply_switches(self, switches: dict[str, Any]) -> None:
        super().apply_switches(switches)
        ttl = switches.get("session_ttl")
        if ttl is not None and (not isinstance(ttl, int | float) or ttl <= 0):
            self.ctx.switches(self.name).pop("session_ttl", None)
            raise ValueError("session_ttl must be a number of seconds > 0")

    def _procedures(self) -> list[dict[str, Any]]:
        return [p for p in self.ctx.seed.section("procedures") if isinstance(p, dict)]

    # --- login --------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return reply({"error_code": "04", "message": "Dữ liệu đăng nhập không phải JSON"})
        if not isinstance(data, dict):
            return reply({"error_code": "04", "message": "Dữ liệu đăng nhập phải là đối tượng"})
        username, password = data.get("username"), data.get("password")
        account = None
        for client in self.ctx.seed.section("clients"):
            if not isinstance(client, dict) or client.get("kind") != "dvcqg":
                continue
            if _same(client.get("username"), username) and _same(client.get("password"), password):
                account = client
                break
        if account is None:
            return reply(
                {
                    "error_code": "01",
                    "message": "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)",
                }
            )
        wanted_dstcode = account.get("dstcode")
        if wanted_dstcode and not _same(request.headers.get("dstcode"), str(wanted_dstcode)):
            return reply(
                {"error_code": "01", "message": "Thiếu hoặc sai dstcode (missing or wrong dstcode)"}
            )
        self._prune_sessions()
        ttl = float(self.ctx.switches(self.name).get("session_ttl", DEFAULT_SESSION_TTL))
        session = secrets.token_urlsafe(24)
        self.ctx.store.put(
            NS_SESSIONS,
            session,
            {
                "username": account.get("username"),
                "madonvi": account.get("madonvi"),
                "dstcode": request.headers.get("dstcode"),
                "expires_at": self.ctx.clock.timestamp() + ttl,
            },
        )
        with self._lock:
            self._idx().counters["logins"] += 1
        return reply(
            {
                "session": session,
                "error_code": 0,
                "message": "Đăng nhập thành công",
                "expires_in": int(ttl),
            }
        )

    def _prune_sessions(self) -> None:
        """Forget sessions the virtual clock has expired (so they cannot pile up)."""
        now = self.ctx.clock.timestamp()
        for key, record in self.ctx.store.items(NS_SESSIONS):
            if not isinstance(record, dict) or float(record.get("expires_at", 0)) <= now:
                self.ctx.store.delete(NS_SESSIONS, key)

    def _session(self, session: Any) -> dict[str, Any] | None:
        if not isinstance(session, str) or not session:
            return None
        record = self.ctx.store.get(NS_SESSIONS, session)
        if not isinstance(record, dict):
            return None
        if float(record.get("expires_at", 0)) <= self.ctx.clock.timestamp():
            self.ctx.store.delete(NS_SESSIONS, session)
            return None
        return record

    # --- integration --------------------------------------------------------------------

    async def integration(self, request: Request) -> Response:
        return await self._endpoint(request, self._integration_services(), writes=True)

    async def share(self, request: Request) -> Response:
        return await self._endpoint(request, self._share_services(), writes=False)

    def _share_services(self) -> dict[str, Callable[[dict[str, Any]], Response]]:
        """What [OC] sends to the share endpoint (``getSharingDictCollection``)."""
        return {
            "LayDanhSachTTHC": self.catalogue.procedure_list,
            "LayDanhMucCoQuan": self.catalogue.agencies,
            "LayDanhMucLinhVuc": self.catalogue.fields,
            "TraCuuTechID": self.catalogue.tech_id,
        }

    def _integration_services(self) -> dict[str, Callable[[dict[str, Any]], Response]]:
        return {
            "TraCuuHoSo": self._lookup,
            "LayThuTuc": self.catalogue.procedure_one,
            **self.feedback.handlers(),
        }

    async def _endpoint(
        self,
        request: Request,
        reads: dict[str, Callable[[dict[str, Any]], Response]],
        *,
        writes: bool,
    ) -> Response:
        raw = await request.body()
        data = json_body(raw, dict)
        if isinstance(data, Response):
            return data
        record = self._session(data.get("session"))
        if record is None:
            with self._lock:
                self._idx().counters["expired_sessions"] += 1
            return error(
                "02", "Phiên làm việc không hợp lệ hoặc đã hết hạn (session expired or unknown)"
            )
        wanted_dstcode = record.get("dstcode")
        if wanted_dstcode and not _same(request.headers.get("dstcode"), wanted_dstcode):
            return error("04", "Thiếu header dstcode (dstcode header missing on this call)")
        if self.ctx.switches(self.name).get("busy"):
            return error("99", "Hệ thống đang bận, vui lòng thử lại sau (portal busy)")
        if not isinstance(data.get("madonvi"), str) or not data["madonvi"].strip():
            return error("04", "Thiếu madonvi (missing unit code)")
        service = data.get("service")
        service = service if isinstance(service, str) else ""
        is_write = writes and service in (SERVICE_SYNC, SERVICE_PROGRESS)
        if service not in reads and not is_write:
            return error("03", f"Dịch vụ không tồn tại: {service[:60]!r} (unknown service)")
        with self._lock:
            if service in reads:
                return reads[service](data)
            response: Response = self._batch(data, raw, service)
            return response

    async def proxy_create(self, request: Request) -> Response:
        return await self._proxy(request, SERVICE_SYNC, "False")

    async def proxy_update(self, request: Request) -> Response:
        return await self._proxy(request, SERVICE_SYNC, "True")

    async def proxy_progress(self, request: Request) -> Response:
        return await self._proxy(request, SERVICE_PROGRESS, None)

    async def _proxy(self, request: Request, service: str, is_updating: str | None) -> Response:
        """A provincial proxy ([TD]): one URL per write, the body a bare JSON array,
        no session; the answer is the top-level code and message only."""
        items = json_body(await request.body(), list)
        if isinstance(items, Response):
            return items
        if self.ctx.switches(self.name).get("busy"):
            return error("99", "Hệ thống đang bận, vui lòng thử lại sau (portal busy)")
        data: dict[str, Any] = {"service": service, "data": items}
        if is_updating is not None:
            data["isUpdating"] = is_updating
        wrapped = json.dumps(data, ensure_ascii=False).encode("utf-8")  # the applied log's form
        with self._lock:
            answer = self._batch(data, wrapped, service, reply=False)
        assert isinstance(answer, list)
        refused = [r for r in answer if r.get("error_code") not in ("0", "00")]
        if not refused:
            return reply({"error_code": "0", "message": "Đồng bộ thành công"})
        codes = {r.get("error_code") for r in refused}
        if len(refused) == len(answer) and len(codes) == 1:
            return reply({"error_code": refused[0]["error_code"], "message": refused[0]["message"]})
        return reply(
            {
                "error_code": "10",
                "message": f"{len(refused)}/{len(answer)} hồ sơ bị từ chối (items refused)",
                "result": answer,
            }
        )

    def _batch_items(self, data: dict[str, Any]) -> list[Any] | Response:
        items = data.get("data")
        if not isinstance(items, list):
            return error("04", "data phải là một danh sách (data must be a list)")
        return items

    def _finish_batch(
        self,
        index: _Index,
        service: str,
        results: list[dict[str, Any]],
        applied: list[int],
        rejected: int,
        raw: bytes,
    ) -> Response:
        if applied:  # one write per request: the body as received, and what was applied
            index.seq += 1
            self.ctx.store.put(
                NS_APPLIED,
                f"{index.seq:012d}",
                {
                    "service": service,
                    "at": self.ctx.clock.now_vn().isoformat(),
                    "body": raw.decode("utf-8", "replace"),
                    "applied": applied,  # positions in data
                },
            )
        index.counters["requests"] += 1
        index.counters["items"] += len(results)
        index.counters["rejected_items"] += rejected
        self._save_counters(index)
        if rejected:
            return reply(
                {
                    "error_code": "10",
                    "message": f"{rejected}/{len(results)} hồ sơ bị từ chối (items refused)",
                    "result": results,
                }
            )
        return reply({"error_code": "00", "message": "Thành công", "result": results})

    def _duplicate(self, index: _Index, key: str, ma: Any) -> dict[str, Any]:
        index.deliveries[key] += 1
        index.counters["duplicate_deliveries"] += 1
        self.ctx.store.put(NS_DUPLICATES, key, index.deliveries[key])
        return {
            "MaHoSo": ma,
            IDEMPOTENCY_FIELD: key,
            "error_code": "00",
            "message": "Đã nhận trước đó, bỏ qua (duplicate, already applied)",
            "duplicate": True,
        }

    def _batch(self, data: dict[str, Any], raw: bytes, service: str, *, reply: bool = True) -> Any:
        """``DongBoHoSoMC`` / ``CapNhatTienDoHoSoMC``: validate, deduplicate, apply.

        The loop binds its lookups to locals: it runs once per item (100,000 times
        in the benchmark).
        """
        items = self._batch_items(data)
        if isinstance(items, Response):
            return items
        index = self._idx()
        known: Container[str]
        check: Callable[[Any, Container[str]], tuple[str, str] | None]
        if service == SERVICE_SYNC:
            known = {str(p.get("ma_tthc")) for p in self._procedures()}
            check = check_dossier
        else:
            known = index.status
            check = check_progress
        deliveries, apply = index.deliveries, self._apply
        # isUpdating as the public clients send it: the strings "True" / "False" [OC].
        flag = str(data.get("isUpdating", "")).strip().lower()
        updating = {"true": True, "false": False}.get(flag) if service == SERVICE_SYNC else None
        existing = index.dossiers
        results: list[dict[str, Any]] = []
        applied: list[int] = []
        rejected = 0
        add_result, add_applied = results.append, applied.append
        for position, item in enumerate(items):
            problem = check(item, known)
            key = item.get(IDEMPOTENCY_FIELD) if isinstance(item, dict) else None
            if not isinstance(key, str) or not key:
                key = None
            if problem is not None:
                rejected += 1
                ma = item.get("MaHoSo") if isinstance(item, dict) else None
                add_result(
                    {
                        "MaHoSo": ma,
                        IDEMPOTENCY_FIELD: key,
                        "error_code": problem[0],
                        "message": problem[1],
                    }
                )
                continue
            ma = str(item["MaHoSo"])
            if key is not None and key in deliveries:
                add_result(self._duplicate(index, key, ma))
                continue
            if updating is not None and (ma in existing) is not updating:
                rejected += 1
                code, text = (
                    ("15", f"Không tìm thấy hồ sơ {ma[:60]} để cập nhật (dossier not found)")
                    if updating
                    else ("3", f"Hồ sơ {ma[:60]} đã tồn tại (dossier already exists)")
                )
                add_result(
                    {"MaHoSo": ma, IDEMPOTENCY_FIELD: key, "error_code": code, "message": text}
                )
                continue
            item.pop(IDEMPOTENCY_FIELD, None)  # the record is the item itself, minus its key
            apply(index, service, key, ma, item)
            add_applied(position)
            add_result({"MaHoSo": ma, IDEMPOTENCY_FIELD: key, "error_code": "00"})
        response = self._finish_batch(index, service, results, applied, rejected, raw)
        return response if reply else results

    def _lookup(self, data: dict[str, Any]) -> Response:
        """``TraCuuHoSo`` with ``mahoso`` (lower-case, [OC] and [TD]); any other
        spelling is an unknown parameter, so the code is missing."""
        ma = data.get("mahoso")
        if not isinstance(ma, str) or not ma:
            return error("04", "Thiếu tham số mahoso (missing parameter mahoso)")
        index = self._idx()
        record = index.dossiers.get(ma)
        if record is None:
            return error("15", f"Không tìm thấy hồ sơ {ma[:60]} (dossier not found)")
        found = {**record, "QuaTrinhXuLy": list(index.progress.get(ma, []))}
        return reply({"error_code": "00", "message": "Thành công", "result": [found]})

    # --- inspection ---------------------------------------------------------------------

    async def received(self, request: Request) -> Response:
        wanted = request.query_params.get("ma_ho_so")
        with self._lock:
            index = self._idx()
            if wanted:
                keys = set(index.history.get(wanted, []))
                deliveries = {k: v for k, v in index.deliveries.items() if k in keys}
                history = {wanted: list(index.history.get(wanted, []))}
            else:
                deliveries = dict(index.deliveries)
                history = {ma: list(keys) for ma, keys in index.history.items()}
            summary = self._summary(index)
        return reply({"deliveries": deliveries, "history": history, "summary": summary})

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return self._summary(self._idx())

    def _summary(self, index: _Index) -> dict[str, Any]:
        applied_twice = sum(len(keys) - len(set(keys)) for keys in _keyed(index.history.values()))
        by_status = Counter(index.status.values())
        recent = list(index.status.items())[-10:]
        return {
            "dossiers": len(index.status),
            "by_status": dict(
                sorted(by_status.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
            ),
            "changes_applied": sum(len(keys) for keys in index.history.values()),
            "idempotency_keys": len(index.deliveries),
            "duplicate_deliveries": int(index.counters["duplicate_deliveries"]),
            "keys_delivered_more_than_once": sum(1 for n in index.deliveries.values() if n > 1),
            "applied_more_than_once": applied_twice,
            "rejected_items": int(index.counters["rejected_items"]),
            "progress_records": sum(len(p) for p in index.progress.values()),
            "requests": int(index.counters["requests"]),
            "logins": int(index.counters["logins"]),
            "expired_session_calls": int(index.counters["expired_sessions"]),
            "active_sessions": self.ctx.store.count(NS_SESSIONS),
            "satisfaction_reports": int(index.counters["satisfaction_reports"]),
            "questions_pushed": int(index.counters["questions_pushed"]),
            "answers_pushed": int(index.counters["answers_pushed"]),
            "promotion_statuses": int(index.counters["promotion_statuses"]),
            "recent": [
                {
                    "MaHoSo": ma,
                    "MaTTHC": index.dossiers.get(ma, {}).get("MaTTHC"),
                    "TrangThaiHoSo": status,
                }
                for ma, status in recent
            ],
        }


def _status_order(item: tuple[str, int]) -> int:
    return int(item[0]) if item[0].isdigit() else 0


def _keyed(histories: Iterable[list[str]]) -> Iterable[list[str]]:
    for keys in histories:
        yield [k for k in keys if k]


def create_platform(ctx: MockContext) -> DvcqgPlatform:
    return DvcqgPlatform(ctx)
