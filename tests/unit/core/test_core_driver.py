"""The call driver: plans run the same under both runners, with credentials and evidence."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from govlink.core.config import GovLinkSettings
from govlink.core.driver import (
    AsyncRunner,
    CallContext,
    CallEvidence,
    EvidenceMixin,
    EvidenceModel,
    Invoke,
    NeedCredential,
    Plan,
    Runner,
    Send,
    Stream,
)
from govlink.core.errors import ConfigurationError, PlatformError, ReplyTooLargeError
from govlink.core.http import (
    CORRELATION_HEADER,
    AsyncHttpTransport,
    FileSink,
    HttpTransport,
    Reply,
    Streamed,
    build_async_client,
    build_client,
)

BASE = "https://platform.test"


def settings(**http: object) -> GovLinkSettings:
    values: dict[str, object] = {"max_retries": 2, "backoff_initial": 0.0, "backoff_max": 0.0}
    values.update(http)
    return GovLinkSettings(http=values)  # type: ignore[arg-type]


def runner(cfg: GovLinkSettings | None = None, **credentials: Any) -> Runner:
    cfg = cfg or settings()
    return Runner(HttpTransport(build_client(cfg), cfg, sleep=lambda _: None), credentials)


def async_runner(cfg: GovLinkSettings | None = None, **credentials: Any) -> AsyncRunner:
    cfg = cfg or settings()

    async def no_sleep(_: float) -> None:
        return None

    return AsyncRunner(
        AsyncHttpTransport(build_async_client(cfg), cfg, sleep=no_sleep), credentials
    )


class Status(EvidenceModel):
    state: str


@dataclass(frozen=True)
class Receipt(EvidenceMixin):
    size: int


class Sessions:
    """A provider whose login is a plan; counts logins and invalidations."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.logins = 0
        self.invalidated: list[str] = []

    def cached(self) -> str | None:
        return self.current

    def obtain(self) -> Plan[str]:
        reply: Reply = yield Send("POST", f"{BASE}/login", safe=True)
        self.logins += 1
        self.current = str(reply.json()["session"])
        return self.current

    def invalidate(self, value: str) -> None:
        self.invalidated.append(value)
        if self.current == value:
            self.current = None


def status_plan() -> Plan[Status]:
    """Session, call, replay once with a new session when the platform says it expired."""
    session: str = yield NeedCredential("portal")
    reply: Reply = yield Send("GET", f"{BASE}/status", safe=True, headers={"X-Session": session})
    if reply.status_code == 401:
        session = yield NeedCredential("portal", expired=session)
        reply = yield Send("GET", f"{BASE}/status", safe=True, headers={"X-Session": session})
    if reply.status_code != 200:
        raise PlatformError("refused", status_code=reply.status_code)
    return Status(state=reply.json()["state"])


def _mock_portal(router: respx.MockRouter) -> respx.Route:
    logins = iter([{"session": "s1"}, {"session": "s2"}])
    router.post(f"{BASE}/login").mock(side_effect=lambda _: httpx.Response(200, json=next(logins)))

    def status(request: httpx.Request) -> httpx.Response:
        if request.headers["X-Session"] == "s1":
            return httpx.Response(401, json={"error": "session expired"})
        return httpx.Response(200, json={"state": "paid"})

    return router.get(f"{BASE}/status").mock(side_effect=status)


@respx.mock
def test_expired_session_is_replaced_once_and_every_exchange_is_evidence() -> None:
    sessions = Sessions()
    route = _mock_portal(respx.mock)

    result = runner(portal=sessions).run(status_plan())

    assert result.state == "paid"
    assert sessions.logins == 2
    assert sessions.invalidated == ["s1"]
    evidence = result.evidence
    assert isinstance(evidence, CallEvidence)
    # login, refused status, second login, status: one correlation id for all of them
    assert [e.url.rsplit("/", 1)[1] for e in evidence.exchanges] == [
        "login",
        "status",
        "login",
        "status",
    ]
    assert {e.correlation_id for e in evidence.exchanges} == {evidence.correlation_id}
    assert route.calls.last.request.headers[CORRELATION_HEADER] == evidence.correlation_id
    assert evidence.status_code == 200
    assert evidence.elapsed_seconds >= 0


def test_async_runner_gives_the_same_result_and_evidence() -> None:
    async def main() -> Status:
        with respx.mock:
            _mock_portal(respx.mock)
            return await async_runner(portal=Sessions()).run(status_plan())

    result = asyncio.run(main())
    assert result.state == "paid"
    assert result.evidence is not None
    assert len(result.evidence.exchanges) == 4


@respx.mock
def test_a_cached_credential_is_used_without_a_login() -> None:
    sessions = Sessions()
    sessions.current = "s2"
    _mock_portal(respx.mock)
    assert runner(portal=sessions).run(status_plan()).state == "paid"
    assert sessions.logins == 0


def test_unknown_provider_names_the_setting() -> None:
    def plan() -> Plan[str]:
        value: str = yield NeedCredential("payments")
        return value

    with pytest.raises(ConfigurationError, match="GOVLINK_PAYMENTS__AUTH__STYLE"):
        runner().run(plan())


@respx.mock
def test_an_error_ending_the_plan_carries_the_call_evidence() -> None:
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(403, json={"no": "way"}))
    sessions = Sessions()
    sessions.current = "s9"

    with pytest.raises(PlatformError) as caught:
        runner(portal=sessions).run(status_plan())

    evidence = caught.value.evidence
    assert isinstance(evidence, CallEvidence)
    assert evidence.status_code == 403
    assert b"way" in evidence.response_body
    assert caught.value.correlation_id == evidence.correlation_id


@respx.mock
def test_step_errors_are_thrown_into_the_plan_which_may_handle_them() -> None:
    respx.get(f"{BASE}/big").mock(return_value=httpx.Response(200, content=b"x" * 5000))

    def plan() -> Plan[str]:
        try:
            yield Send("GET", f"{BASE}/big", safe=True, max_bytes=1024)
        except ReplyTooLargeError as exc:
            return f"too large over {exc.limit}"
        return "read"

    traced = runner().run_traced(plan())
    assert traced.result == "too large over 1024"
    # the refused exchange is still in the evidence
    assert traced.evidence.exchanges[0].status_code == 200


@respx.mock
def test_stream_step_writes_a_file_under_a_cap_and_returns_evidence(tmp_path: Path) -> None:
    body = b"%PDF-" + b"p" * 300_000
    respx.post(f"{BASE}/receipt").mock(return_value=httpx.Response(200, content=body))
    target = tmp_path / "out" / "receipt.pdf"

    def plan() -> Plan[Receipt]:
        done: Streamed = yield Stream(Send("POST", f"{BASE}/receipt", safe=True), FileSink(target))
        return Receipt(size=done.size)

    receipt = runner().run(plan())
    assert target.read_bytes() == body
    assert receipt.size == len(body)
    assert receipt.evidence is not None
    assert receipt.evidence.exchanges[0].response_size == len(body)


@respx.mock
def test_stream_over_its_cap_leaves_no_file(tmp_path: Path) -> None:
    respx.get(f"{BASE}/huge").mock(return_value=httpx.Response(200, content=b"y" * 200_000))
    target = tmp_path / "huge.bin"

    def plan() -> Plan[Streamed]:
        done: Streamed = yield Stream(
            Send("GET", f"{BASE}/huge", safe=True), FileSink(target), max_bytes=100_000
        )
        return done

    with pytest.raises(ReplyTooLargeError):
        runner().run(plan())
    assert list(tmp_path.iterdir()) == []


@respx.mock
def test_invoke_runs_sync_in_the_sync_runner_and_async_in_the_async_one() -> None:
    async def async_part() -> str:
        return "async"

    def plan() -> Plan[str]:
        value: str = yield Invoke("callback", lambda: "sync", async_part)
        return value

    assert runner().run(plan()) == "sync"
    assert asyncio.run(async_runner().run(plan())) == "async"


def test_a_result_without_evidence_support_is_returned_as_is() -> None:
    def plan() -> Plan[list[int]]:
        if False:  # pragma: no cover - a plan with no step is still a generator
            yield Invoke("never", lambda: None)
        return [1, 2]

    traced = runner().run_traced(plan())
    assert traced.result == [1, 2]
    assert traced.evidence.exchanges == ()


def test_evidence_does_not_change_model_equality_or_serialisation() -> None:
    a, b = Status(state="paid"), Status(state="paid")
    a.attach_evidence(
        CallEvidence(
            correlation_id="c",
            started_at=datetime.now(UTC),
            elapsed_seconds=0.1,
        )
    )
    assert a == b
    assert a.model_dump() == {"state": "paid"}


@dataclass(frozen=True)
class Lookup:
    """A platform's own step type (say, a SOAP operation through zeep)."""

    name: str


@dataclass(frozen=True)
class Answer:
    value: str
    evidence: Any = None


def test_platform_step_types_go_to_their_handlers_with_the_call_context() -> None:
    seen: list[str] = []

    def lookup_sync(step: Lookup, call: CallContext) -> Answer:
        seen.append(call.correlation_id)
        return Answer(f"sync {step.name}")

    async def lookup_async(step: Lookup, call: CallContext) -> Answer:
        seen.append(call.correlation_id)
        return Answer(f"async {step.name}")

    def plan() -> Plan[str]:
        answer: Answer = yield Lookup("citizen")
        return answer.value

    cfg = settings()
    sync_runner = Runner(HttpTransport(build_client(cfg), cfg), handlers={Lookup: lookup_sync})
    traced = sync_runner.run_traced(plan(), correlation_id="cid-1")
    assert traced.result == "sync citizen"
    assert seen == ["cid-1"]
    async_runner_ = AsyncRunner(
        AsyncHttpTransport(build_async_client(cfg), cfg), handlers={Lookup: lookup_async}
    )
    assert asyncio.run(async_runner_.run(plan())) == "async citizen"


def test_a_step_nobody_handles_is_a_type_error() -> None:
    def plan() -> Plan[None]:
        yield Lookup("x")

    with pytest.raises(TypeError, match="not a step"):
        runner().run(plan())
