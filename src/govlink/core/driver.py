"""The one call driver: platforms write plans, core runs them (sync or async).

A platform describes each operation as a **plan**: a generator, free of I/O, that
*yields steps* and *receives their outcomes*, then *returns* its result::

    def plan_query(self, reference: str) -> Plan[PaymentStatus]:
        token: str = yield NeedCredential("payments")
        reply: Reply = yield Send("POST", self.url, safe=True, json=...,
                                  headers={"Authorization": f"Bearer {token}"})
        if reply.status_code == 401:                      # the platform says it expired
            token = yield NeedCredential("payments", expired=token)
            reply = yield Send(...)                       # replay once
        return parse(reply)

:class:`Runner` runs a plan with blocking I/O and :class:`AsyncRunner` with
``await``; they are the only two loops over steps in govlink, so a platform's sync
and async clients share every line of logic and differ only in ``await``.

Steps and what the runner sends back into the plan:

* :class:`Send` — one HTTP request through the transport (retries follow ``safe``,
  the reply is read under the size cap) → a :class:`~govlink.core.http.Reply`
  (any status the retry policy does not handle is returned, not raised);
* :class:`Stream` — one HTTP request whose body is written to a
  :class:`~govlink.core.http.Sink` (e.g. :class:`~govlink.core.http.FileSink`)
  under ``max_bytes`` → a :class:`~govlink.core.http.Streamed`;
* :class:`NeedCredential` — a token or session from the named provider (after
  invalidating ``expired``, when given) → ``str``;
* :class:`Invoke` — a call the runner makes for the plan when the work is not an
  HTTP request the transport can send (a user callback): ``sync()`` in
  :class:`Runner`, ``await async_()`` in :class:`AsyncRunner` → its return value;
* a platform's own step type (say a SOAP operation run through zeep), handled by the
  function registered for its type: ``Runner(..., handlers={SoapCall: run_sync})``
  and ``AsyncRunner(..., handlers={SoapCall: run_async})``; a handler gets the step
  and the :class:`CallContext` (correlation id, retry-budget start) and its return
  value goes to the plan. When that value has an ``evidence`` attribute holding an
  :class:`~govlink.core.http.Evidence`, it joins the call's evidence.

An exception raised by a step is thrown into the plan at its ``yield`` (a plan may
catch it); one the plan lets escape leaves the runner unchanged.

**Credential providers** (the protocol :class:`CredentialProvider`, kept minimal so
any auth style fits behind it)::

    class CredentialProvider(Protocol):
        def cached(self) -> str | None: ...        # a current value, or None
        def obtain(self) -> Plan[str]: ...         # sans-I/O plan fetching a fresh value;
                                                   #   it stores what it fetched
        def invalidate(self, value: str) -> None:  # the platform said `value` expired:
            ...                                    #   forget it if it is still current

The runner looks providers up by name (``Runner(..., credentials={"dossiers":
provider})``), calls ``cached()``, and when there is none runs ``obtain()`` as a
nested plan *through the same transport*: the token or login request honours the
call's timeout, retry policy and retry budget, carries the call's correlation id,
and its exchange is part of the call's evidence. One fetch at a time per provider
(a thread lock in :class:`Runner`, a per-loop asyncio lock in :class:`AsyncRunner`):
concurrent callers that find no credential cause one fetch, not many.

**Evidence.** Every plan run has one correlation id (shared by all its requests and
their retries), a start time and a retry budget. The runner records the
:class:`~govlink.core.http.Evidence` of every exchange and, when the plan ends,
attaches a :class:`CallEvidence` to

* the result, when its type opts in by implementing :class:`CarriesEvidence`
  (an ``attach_evidence(evidence)`` method): pydantic result models inherit
  :class:`EvidenceModel`, other classes :class:`EvidenceMixin`; both expose it as
  ``result.evidence``;
* the :class:`~govlink.core.errors.GovLinkError` that ends the plan, as
  ``error.evidence`` (replacing the single-exchange evidence the transport set).

For results that cannot carry it (``None``, ``bytes``, lists), ``run_traced`` returns
a :class:`Traced` pair ``(result, evidence)`` — the ``with_raw_response`` idea of
openai-python, for any plan.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, PrivateAttr

from govlink.core.errors import ConfigurationError, GovLinkError
from govlink.core.http import (
    DEFAULT_DOWNLOAD_CAP,
    RETRYABLE_STATUS,
    AsyncHttpTransport,
    Evidence,
    HttpTransport,
    Sink,
    new_correlation_id,
)
from govlink.core.locks import LoopLocks
from govlink.core.redact import redact_text

__all__ = [
    "AsyncRunner",
    "CallContext",
    "CallEvidence",
    "CarriesEvidence",
    "CredentialProvider",
    "EvidenceMixin",
    "EvidenceModel",
    "Invoke",
    "NeedCredential",
    "Plan",
    "Runner",
    "Send",
    "Step",
    "Stream",
    "Traced",
]

T = TypeVar("T")


# -- steps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Send one HTTP request; the plan receives the :class:`~govlink.core.http.Reply`.

    ``safe`` says whether the request may be repeated (idempotent by nature or made
    so by an idempotency key): only safe requests are retried after they may have
    reached the server. ``max_bytes`` overrides ``GOVLINK_HTTP__MAX_REPLY_BYTES``;
    ``timeout`` (seconds) overrides the client's read/write/pool timeout.
    """

    method: str
    url: str
    safe: bool
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    content: bytes | None = field(default=None, repr=False)
    data: Mapping[str, str] | None = field(default=None, repr=False)
    json: Any = field(default=None, repr=False)
    timeout: float | None = None
    retry_statuses: frozenset[int] = RETRYABLE_STATUS
    max_bytes: int | None = None

    def kwargs(self) -> dict[str, Any]:
        """The request arguments for the transport (only those that are set)."""
        out: dict[str, Any] = {"headers": dict(self.headers)}
        for name in ("params", "content", "data", "json", "timeout"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class Stream:
    """Send ``request`` and stream its body into ``sink`` (at most ``max_bytes``).

    The plan receives a :class:`~govlink.core.http.Streamed` (status, headers, size,
    evidence). The retry rules are those of ``request.safe``; before a retry the
    sink is aborted and begun again. ``request.max_bytes`` is ignored here.
    """

    request: Send
    sink: Sink = field(repr=False)
    max_bytes: int = DEFAULT_DOWNLOAD_CAP


@dataclass(frozen=True)
class NeedCredential:
    """A current credential (token, session id) from the provider named ``provider``.

    ``expired``: the value the platform just refused as expired; it is invalidated
    (if still current) before a fresh one is obtained. A plan replays its request
    once with the fresh value and raises on a second expiry, never loops.
    """

    provider: str
    expired: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Invoke:
    """A call the runner makes for the plan (work that is not a plain HTTP request).

    :class:`Runner` calls ``sync()``; :class:`AsyncRunner` awaits ``async_()`` when
    given, else calls ``sync()`` and awaits the result if it is awaitable. The plan
    receives the return value. ``what`` names the call in logs.
    """

    what: str
    sync: Callable[[], Any]
    async_: Callable[[], Awaitable[Any]] | None = None


Step = Send | Stream | NeedCredential | Invoke
"""The core step types (a platform may add its own, handled by ``handlers``)."""
Plan = Generator[Any, Any, T]
"""A sans-I/O operation: yields steps, receives their outcomes, returns ``T``."""


@dataclass(frozen=True)
class CallContext:
    """What a step handler needs to take part in the call: the call's correlation id
    and the :meth:`~govlink.core.clock.Clock.monotonic` time its retry budget started
    (pass both to the transport as ``correlation_id=`` and ``budget_started=``)."""

    correlation_id: str
    budget_started: float


# -- credentials ----------------------------------------------------------------------


@runtime_checkable
class CredentialProvider(Protocol):
    """Where a runner gets a token or session (see the module docstring)."""

    def cached(self) -> str | None:
        """A current credential, or None when one must be obtained."""

    def obtain(self) -> Plan[str]:
        """A plan that fetches a fresh credential, stores it and returns it."""

    def invalidate(self, value: str) -> None:
        """Forget ``value`` if it is still the current credential."""


# -- evidence -------------------------------------------------------------------------


@dataclass(frozen=True)
class CallEvidence:
    """Evidence of one logical call (one plan run): every exchange, in order.

    ``correlation_id`` is shared by every request of the call. The attributes of
    the last exchange (``method``, ``url``, ``status_code``, ``attempts``,
    ``request_body``, ``response_body``, ``response_headers``) are readable here
    directly, so code written for a single :class:`~govlink.core.http.Evidence`
    keeps working. Bodies are the raw bytes (the vendor's own record); use
    :meth:`masked` for logs and support tickets.
    """

    correlation_id: str
    started_at: datetime
    elapsed_seconds: float
    exchanges: tuple[Evidence, ...] = ()

    @property
    def last(self) -> Evidence | None:
        return self.exchanges[-1] if self.exchanges else None

    @property
    def method(self) -> str | None:
        return self.last.method if self.last else None

    @property
    def url(self) -> str | None:
        return self.last.url if self.last else None

    @property
    def status_code(self) -> int | None:
        return self.last.status_code if self.last else None

    @property
    def attempts(self) -> int:
        return sum(exchange.attempts for exchange in self.exchanges)

    @property
    def request_body(self) -> bytes:
        return self.last.request_body if self.last else b""

    @property
    def response_body(self) -> bytes:
        return self.last.response_body if self.last else b""

    @property
    def response_headers(self) -> Mapping[str, str]:
        return self.last.response_headers if self.last else {}

    def masked(self) -> dict[str, Any]:
        """A log-safe summary: every exchange masked (bodies masked by key, truncated)."""
        return {
            "correlation_id": self.correlation_id,
            "started_at": self.started_at.isoformat(),
            "elapsed_seconds": round(self.elapsed_seconds, 4),
            "exchanges": [exchange.masked() for exchange in self.exchanges],
        }


@runtime_checkable
class CarriesEvidence(Protocol):
    """A result type that opts in to receive the evidence of the call that made it."""

    def attach_evidence(self, evidence: CallEvidence) -> None: ...


class _EvidenceSlot:
    """Holds a model's evidence; equal to every other slot, so two results with the
    same data compare equal whatever calls produced them."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: CallEvidence | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _EvidenceSlot)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "_EvidenceSlot()"


class EvidenceModel(BaseModel):
    """Base for pydantic result models that carry ``evidence``.

    Not a field: it is neither serialised nor compared (two results with the same
    data are equal), and not validated from input.
    """

    _evidence_slot: _EvidenceSlot = PrivateAttr(default_factory=_EvidenceSlot)

    @property
    def evidence(self) -> CallEvidence | None:
        """Correlation id, timing and raw exchanges of the call that produced this."""
        return self._evidence_slot.value

    def attach_evidence(self, evidence: CallEvidence) -> None:
        self._evidence_slot.value = evidence


class EvidenceMixin:
    """Mixin for plain (also frozen data-) classes that carry ``evidence``."""

    @property
    def evidence(self) -> CallEvidence | None:
        """Correlation id, timing and raw exchanges of the call that produced this."""
        value: CallEvidence | None = self.__dict__.get("_govlink_evidence")
        return value

    def attach_evidence(self, evidence: CallEvidence) -> None:
        self.__dict__["_govlink_evidence"] = evidence


@dataclass(frozen=True)
class Traced(Generic[T]):
    """A plan's result together with the evidence of its call (``Runner.run_traced``)."""

    result: T
    evidence: CallEvidence


# -- the runners ----------------------------------------------------------------------


class _Run:
    """Sans-I/O bookkeeping of one plan run, shared by both runners."""

    def __init__(self, transport: HttpTransport | AsyncHttpTransport, cid: str | None) -> None:
        self.cid = cid or new_correlation_id()
        self.clock = transport.clock
        self.started_at = self.clock.now()
        self.t0 = self.clock.monotonic()
        self.exchanges: list[Evidence] = []

    def record(self, outcome: Any) -> Any:
        evidence = getattr(outcome, "evidence", None)
        if isinstance(evidence, Evidence):
            self.exchanges.append(evidence)
        return outcome

    def failed_exchange(self, exc: BaseException) -> None:
        evidence = getattr(exc, "evidence", None)
        if isinstance(evidence, Evidence):
            self.exchanges.append(evidence)

    def evidence(self) -> CallEvidence:
        return CallEvidence(
            correlation_id=self.cid,
            started_at=self.started_at,
            elapsed_seconds=self.clock.monotonic() - self.t0,
            exchanges=tuple(self.exchanges),
        )

    def traced(self, result: T) -> Traced[T]:
        """The plan's result, given the call's evidence when it opts in, and that evidence."""
        if isinstance(result, CarriesEvidence):
            result.attach_evidence(self.evidence())
        return Traced(result, self.evidence())

    def context(self) -> CallContext:
        return CallContext(self.cid, self.t0)

    @contextmanager
    def failing(self) -> Iterator[None]:
        """A :class:`GovLinkError` ending the plan gets the call's evidence and id."""
        try:
            yield
        except GovLinkError as exc:
            exc.evidence = self.evidence()
            if exc.correlation_id is None:
                exc.correlation_id = self.cid
            raise

    def transport_kwargs(self, step: Send | Stream) -> dict[str, Any]:
        """The arguments of ``transport.request`` (a :class:`Send`) or ``.download``."""
        send = step.request if isinstance(step, Stream) else step
        kwargs: dict[str, Any] = {
            "method": send.method,
            "url": send.url,
            "safe": send.safe,
            "correlation_id": self.cid,
            "retry_statuses": send.retry_statuses,
            "max_bytes": step.max_bytes,
            "budget_started": self.t0,
            **send.kwargs(),
        }
        if isinstance(step, Stream):
            kwargs["sink"] = step.sink
        return kwargs


def _current_credential(
    credentials: Mapping[str, CredentialProvider], step: NeedCredential
) -> tuple[CredentialProvider, str | None]:
    """The provider ``step`` names and its current credential (after invalidating
    ``step.expired``), or None when one must be obtained."""
    try:
        provider = credentials[step.provider]
    except KeyError:
        raise ConfigurationError(
            f"no credential provider named {step.provider!r} is configured for this client",
            setting=f"GOVLINK_{step.provider.upper()}__AUTH__STYLE",
            expected="an auth style this platform accepts",
        ) from None
    if step.expired is not None:
        provider.invalidate(step.expired)
    return provider, provider.cached()


class Runner:
    """Runs plans with blocking I/O over an :class:`~govlink.core.http.HttpTransport`.

    ``credentials``: providers by name (:class:`NeedCredential`); ``handlers``: a
    function per platform step type, called with the step and the :class:`CallContext`.
    """

    def __init__(
        self,
        transport: HttpTransport,
        credentials: Mapping[str, CredentialProvider] | None = None,
        handlers: Mapping[type[Any], Callable[[Any, CallContext], Any]] | None = None,
    ) -> None:
        self.transport = transport
        self.credentials: dict[str, CredentialProvider] = dict(credentials or {})
        self.handlers: dict[type[Any], Callable[[Any, CallContext], Any]] = dict(handlers or {})
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def run(self, plan: Plan[T], *, correlation_id: str | None = None) -> T:
        """Run ``plan`` to its result (evidence attached when the result opts in)."""
        return self.run_traced(plan, correlation_id=correlation_id).result

    def run_traced(self, plan: Plan[T], *, correlation_id: str | None = None) -> Traced[T]:
        """Run ``plan``; its result and the :class:`CallEvidence` of the call."""
        run = _Run(self.transport, correlation_id)
        with run.failing():
            result = self._drive(plan, run)
        return run.traced(result)

    def _drive(self, plan: Plan[T], run: _Run) -> T:
        try:
            step = next(plan)
            while True:
                try:
                    outcome = self._step(step, run)
                except Exception as exc:
                    run.failed_exchange(exc)
                    step = plan.throw(exc)
                else:
                    step = plan.send(outcome)
        except StopIteration as done:
            value: T = done.value
            return value
        finally:
            plan.close()

    def _step(self, step: Step, run: _Run) -> Any:
        if isinstance(step, Send):
            return run.record(self.transport.request(**run.transport_kwargs(step)))
        if isinstance(step, Stream):
            return run.record(self.transport.download(**run.transport_kwargs(step)))
        if isinstance(step, NeedCredential):
            return self._credential(step, run)
        if isinstance(step, Invoke):
            return run.record(step.sync())
        handler = self.handlers.get(type(step))
        if handler is not None:
            return run.record(handler(step, run.context()))
        raise TypeError(f"a plan yielded {redact_text(repr(step))}, which is not a step")

    def _credential(self, step: NeedCredential, run: _Run) -> str:
        provider, value = _current_credential(self.credentials, step)
        if value is not None:
            return value
        with self._guard:
            lock = self._locks.setdefault(step.provider, threading.Lock())
        with lock:
            value = provider.cached()
            if value is None:
                value = self._drive(provider.obtain(), run)
        return value


class AsyncRunner:
    """The async twin of :class:`Runner` (same steps, same evidence, awaited).

    A handler may be a coroutine function or return an awaitable.
    """

    def __init__(
        self,
        transport: AsyncHttpTransport,
        credentials: Mapping[str, CredentialProvider] | None = None,
        handlers: Mapping[type[Any], Callable[[Any, CallContext], Any]] | None = None,
    ) -> None:
        self.transport = transport
        self.credentials: dict[str, CredentialProvider] = dict(credentials or {})
        self.handlers: dict[type[Any], Callable[[Any, CallContext], Any]] = dict(handlers or {})
        self._locks: dict[str, LoopLocks] = {}

    async def run(self, plan: Plan[T], *, correlation_id: str | None = None) -> T:
        """See :meth:`Runner.run`."""
        return (await self.run_traced(plan, correlation_id=correlation_id)).result

    async def run_traced(self, plan: Plan[T], *, correlation_id: str | None = None) -> Traced[T]:
        """See :meth:`Runner.run_traced`."""
        run = _Run(self.transport, correlation_id)
        with run.failing():
            result = await self._drive(plan, run)
        return run.traced(result)

    async def _drive(self, plan: Plan[T], run: _Run) -> T:
        try:
            step = next(plan)
            while True:
                try:
                    outcome = await self._step(step, run)
                except Exception as exc:
                    run.failed_exchange(exc)
                    step = plan.throw(exc)
                else:
                    step = plan.send(outcome)
        except StopIteration as done:
            value: T = done.value
            return value
        finally:
            plan.close()

    async def _step(self, step: Step, run: _Run) -> Any:
        if isinstance(step, Send):
            return run.record(await self.transport.request(**run.transport_kwargs(step)))
        if isinstance(step, Stream):
            return run.record(await self.transport.download(**run.transport_kwargs(step)))
        if isinstance(step, NeedCredential):
            return await self._credential(step, run)
        if isinstance(step, Invoke):
            result = step.sync() if step.async_ is None else step.async_()
        else:
            handler = self.handlers.get(type(step))
            if handler is None:
                raise TypeError(f"a plan yielded {redact_text(repr(step))}, which is not a step")
            result = handler(step, run.context())
        if isinstance(result, Awaitable):
            result = await result
        return run.record(result)

    async def _credential(self, step: NeedCredential, run: _Run) -> str:
        provider, value = _current_credential(self.credentials, step)
        if value is not None:
            return value
        async with self._locks.setdefault(step.provider, LoopLocks()).get():
            value = provider.cached()
            if value is None:
                value = await self._drive(provider.obtain(), run)
        return value
