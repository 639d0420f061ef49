"""Every public I/O method gives the same result sync and async, against the mock.

``test_parity`` checks that each sync method has an async twin with the same
signature; this module checks the other half of the promise: the same call gives the
same answer. Each case calls one method through :class:`~govlink.GovLink` and through
:class:`~govlink.AsyncGovLink` on the in-process mock (``govlink_mock_app``), each
side from the same state — the mock is reset before each side and the case's
``arrange`` prepares it again through a helper facade (a login, a dossier, a paid
payment, a document waiting…) — and compares what a user would see:

* the result, or the error (its type, ``message``, ``hint``, code, raw reply and
  other public attributes, ``retryable``),
* the requests the mock received during the call (method, path, reply status), so
  retries and extra round trips show,
* the platform's state summary in the mock afterwards (what a write changed),
* what a callback was handed (``documents.receive``, ``payments.reconcile``).

Only what legitimately differs between two calls is normalised, and the case says
why next to it: values issued afresh for each side (the mock's tokens, codes,
sessions, ids; the client's login state, nonces, request ids, references,
idempotency keys, and checksums over them) are replaced by a name wherever they
appear, and timestamps by their distance from now in whole minutes (a token that
lives an hour still reads ``now+60min``). Correlation ids, timing and the raw
exchanges live in ``evidence``, which results do not compare; ``str(error)`` carries
the correlation id, so errors are compared by ``message`` and ``hint``.

Methods that do no I/O (the very same function on both sides, see ``test_parity``)
and ``close`` need no case; a method that cannot be exercised goes to ``EXEMPT``
with the reason. A public method with neither fails
``test_every_public_method_has_a_case``: a new method needs a case here.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from lxml import etree
from pydantic import BaseModel
from pypdf import PdfReader
from test_parity import _classes, _public_methods

import govlink.client as facade
from govlink import AsyncGovLink, GovLink
from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings
from govlink.dossiers import Batch, DossierStatus, ProgressRecord
from govlink.payments import LocalPayment
from govlink.testing import InProcessMock

TESTS = Path(__file__).resolve().parents[1]


def _support(folder: str, name: str) -> ModuleType:
    """A helper module of another test folder, loaded once under the name its own
    tests import it by, so its constants and builders are reused, not copied."""
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, TESTS / folder / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


sso_support = _support("integration", "sso_support")
documents_support = _support("integration", "documents_support")
documents_fixtures = _support("unit/documents", "documents_fixtures")
dvcqg_fake = _support("unit/dossiers", "_dvcqg_fake")


# --- comparing ------------------------------------------------------------------------


def plain(value: Any, names: dict[str, str]) -> Any:
    """``value`` as dicts, lists and scalars (models and dataclasses keep their type's
    name under ``__type__``), every value recorded in ``names`` replaced by its name."""
    if isinstance(value, BaseModel):
        out = {"__type__": type(value).__name__}
        for key in type(value).model_fields:
            out[key] = plain(getattr(value, key), names)
        for key, item in (value.model_extra or {}).items():
            out[key] = plain(item, names)
        return out
    if is_dataclass(value) and not isinstance(value, type):
        out = {"__type__": type(value).__name__}
        for f in fields(value):
            out[f.name] = plain(getattr(value, f.name), names)
        return out
    if isinstance(value, BaseException):  # kept in a report: read as a caller would
        return plain(_error(value), names)
    if isinstance(value, Enum):
        return value
    if isinstance(value, etree._Element):  # equal elements are not ==
        return plain(etree.tostring(value), names)
    if isinstance(value, str):
        for issued_value in sorted(names, key=len, reverse=True):
            value = value.replace(issued_value, names[issued_value])
        return value
    if isinstance(value, bytes):
        try:
            return plain(value.decode("utf-8"), names).encode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, dict):
        return {plain(k, names): plain(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, names) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v, names) for v in value)
    if type(value).__module__.startswith("govlink.") and hasattr(value, "__dict__"):
        out = {"__type__": type(value).__name__}  # a plain class (KeySet…): its public state
        for key, item in vars(value).items():
            if not key.startswith("_"):
                out[key] = plain(item, names)
        return out
    return value


def apply(tree: Any, path: str, change: Callable[[Any], Any]) -> None:
    """Replace the value(s) at ``path`` (dotted keys, ``*`` for every item) by
    ``change(value)``; a path that is not there is left alone."""
    head, _, rest = path.partition(".")
    if head == "*":
        keys: list[Any] = list(range(len(tree))) if isinstance(tree, list) else list(tree)
    elif isinstance(tree, dict) and head in tree:
        keys = [head]
    else:
        return
    for key in keys:
        if rest:
            apply(tree[key], rest, change)
        else:
            tree[key] = change(tree[key])


def apply_keys(tree: Any, keys: set[str], change: Callable[[Any], Any]) -> None:
    """Replace the value of every member named in ``keys``, anywhere in ``tree``."""
    if isinstance(tree, dict):
        for key, item in tree.items():
            if key in keys:
                tree[key] = change(item)
            else:
                apply_keys(item, keys, change)
    elif isinstance(tree, list):
        for item in tree:
            apply_keys(item, keys, change)


def rename(tree: Any, value: str, name: str) -> None:
    """Every occurrence of ``value`` in the strings of ``tree`` becomes ``name`` (for a
    value the call itself created, so ``arrange`` could not name it)."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, item in list(items):
        if isinstance(item, str):
            tree[key] = item.replace(value, name)
        elif isinstance(item, dict | list):
            rename(item, value, name)


def minutes_from_now(value: Any) -> Any:
    """A timestamp as its distance from now in whole minutes: two calls a moment apart
    read the same, a token's lifetime still shows (``now+60min``)."""
    if value is None or value == "":
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        seconds = (value - datetime.now(UTC)).total_seconds()
    elif isinstance(value, int | float):
        seconds = value - time.time()
    else:
        raise AssertionError(f"not a timestamp: {value!r}")
    return f"now{round(seconds / 60):+d}min"


def vn_time(layout: str) -> Callable[[str], str]:
    """:func:`minutes_from_now` for a Vietnam-time text in ``layout``."""
    return lambda text: minutes_from_now(datetime.strptime(text, layout).replace(tzinfo=VN_TZ))


def issued(label: str) -> Callable[[Any], Any]:
    """For a value created afresh by each call: kept only as whether it is there."""
    return lambda value: f"<{label}>" if value else value


# --- cases ----------------------------------------------------------------------------


@dataclass
class Call:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def default_settings(mock: InProcessMock) -> GovLinkSettings:
    """The mock profile without retries: an error is compared as the first reply."""
    return mock.settings(http={"max_retries": 0})


@dataclass
class World:
    """One side while arranging: the mock (just reset), helper facades of its own, a
    scratch folder, the names of the values issued for this side, and what the call
    hands to callbacks."""

    mock: InProcessMock
    tmp: Path
    names: dict[str, str] = field(default_factory=dict)
    seen: list[Any] = field(default_factory=list)
    helpers: list[GovLink] = field(default_factory=list)

    def helper(self, settings: GovLinkSettings | None = None) -> GovLink:
        """A sync facade to prepare state with (not the one under test)."""
        client = GovLink(
            settings or default_settings(self.mock), transport=self.mock.sync_transport
        )
        self.helpers.append(client)
        return client

    def name(self, value: Any, label: str) -> Any:
        """Compare ``value`` (issued for this side only) as ``<label>``; the next value
        with the same label is ``<label 2>``, so two references do not read alike."""
        if not value or str(value) in self.names:
            return value
        assert len(str(value)) >= 8, f"{value!r} is too short to be renamed safely"
        taken = set(self.names.values())
        shown, n = f"<{label}>", 1
        while shown in taken:
            n += 1
            shown = f"<{label} {n}>"
        self.names[str(value)] = shown
        return value

    def close(self) -> None:
        for client in self.helpers:
            client.close()


@dataclass(frozen=True)
class Case:
    target: str
    """``namespace.method``"""
    arrange: Callable[[World], Call] = lambda world: Call()
    """Prepares the mock for one side and gives the call's arguments."""
    normalise: Callable[[Any], None] = lambda tree: None
    """Edits the plain outcome in place; say why next to each value it touches."""
    settings: Callable[[InProcessMock], GovLinkSettings] = default_settings
    label: str = ""
    """Tells a second case of the same method apart."""
    error: bool = False
    """The call must fail, on both sides: the case compares errors."""
    any_order: bool = False
    """The method sends concurrent requests: compare them in sorted order."""

    @property
    def id(self) -> str:
        return f"{self.target}[{self.label}]" if self.label else self.target

    @property
    def namespace(self) -> str:
        return self.target.partition(".")[0]

    @property
    def method(self) -> str:
        return self.target.partition(".")[2]


def call(*args: Any, **kwargs: Any) -> Callable[[World], Call]:
    """An ``arrange`` that prepares nothing."""
    return lambda world: Call(args, kwargs)


# --- citizens: the seeded population database -------------------------------------------

AN = ("001085000001", "Nguyễn Văn An", "1985-03-12")  # seeded, married to TRẦN THỊ BÌNH
REQUEST_ID = {"request_id": "parity-1"}  # else the client generates one per call


def _earlier_request(world: World) -> Call:
    world.helper().citizens.lookup(*AN, request_id="parity-0")
    return Call(("parity-0",))


def _generated_request_id(tree: Any) -> None:
    # without request_id the client generates MaYeuCau: a new one per call
    apply(tree, "result.request_id", issued("request id"))


def _answered_at(tree: Any) -> None:
    # when the mock answered the earlier request, on each side
    apply(tree, "result.updated_at", minutes_from_now)


CITIZENS = [
    Case("citizens.lookup", call(*AN), _generated_request_id),
    Case("citizens.verify_identity", call(*AN, **REQUEST_ID)),
    Case("citizens.household", call(*AN, **REQUEST_ID)),
    Case("citizens.marital_status", call(*AN, **REQUEST_ID)),
    Case("citizens.verify", call(*AN, gender="Nam", **REQUEST_ID)),
    Case("citizens.request_status", _earlier_request, _answered_at),
    Case(
        "citizens.lookup",
        call("001099000099", "Không Có", "1985", **REQUEST_ID),
        label="unknown citizen",
        error=True,
    ),
]


# --- sso: logins through the mock's headless shortcut --------------------------------------


def _authorize(world: World, url: str) -> str:
    """What the browser does with an authorization URL, in-process: the mock logs the
    seeded citizen in (``X-Mock-Login``) and redirects to the callback."""
    with world.mock.http_client() as browser:
        reply = browser.get(url, headers={"X-Mock-Login": sso_support.CITIZEN_ID})
    assert reply.status_code == 302, reply.text
    for session in world.mock.state()["sso"]["sessions"]:
        world.name(session["sid"], "sid")  # the mock's, per login
    return str(reply.headers["location"])


def _callback(world: World) -> Call:
    """A login begun by a helper and authorized: ``finish_login``'s arguments."""
    login = world.helper().sso.begin_login(sso_support.REDIRECT_URI, acr_values="LoA2")
    callback = _authorize(world, login.url)
    # the client generates state and nonce, the mock the code, per login
    world.name(login.state.state, "state")
    world.name(login.state.nonce, "nonce")
    world.name(sso_support.query(callback)["code"], "code")
    return Call((callback, login.state))


def _forged_callback(world: World) -> Call:
    """A callback whose state is not the one saved (a forged or mixed-up login)."""
    callback, saved = _callback(world).args
    return Call((callback.replace("state=", "state=forged-"), saved))


def _logged_in(world: World) -> Any:
    """A finished login (``LoginResult``) of the seeded citizen; its tokens are named."""
    result = world.helper().sso.finish_login(*_callback(world).args)
    for kind in ("access_token", "refresh_token", "id_token"):
        world.name(getattr(result.tokens, kind), kind)  # the mock's, per login
    return result


def _with_tokens(arguments: Callable[[Any], Call]) -> Callable[[World], Call]:
    return lambda world: arguments(_logged_in(world))


def _login_request(tree: Any) -> None:
    # state, nonce and PKCE verifier are random per login (that is their point); the
    # URL carries them (the challenge is the verifier's hash); created_at: the clock
    for key in ("state", "nonce", "code_verifier"):
        apply(tree, f"result.state.{key}", issued(key))
    apply(tree, "result.state.created_at", minutes_from_now)

    def url(text: str) -> str:
        parts = urlsplit(text)
        query = [
            (k, f"<{k}>" if k in ("state", "nonce", "code_challenge") else v)
            for k, v in parse_qsl(parts.query)
        ]
        return urlunsplit(parts._replace(query=urlencode(query)))

    apply(tree, "result.url", url)


def _new_tokens(path: str) -> Callable[[Any], None]:
    def normalise(tree: Any) -> None:
        # the mock issues new random tokens at each call; received_at: the client's clock
        for kind in ("access_token", "refresh_token", "id_token"):
            apply(tree, f"{path}.{kind}", issued(kind))
        apply(tree, f"{path}.received_at", minutes_from_now)

    return normalise


def _claims(path: str) -> Callable[[Any], None]:
    def normalise(tree: Any) -> None:
        # the mock's clock at each login; at_hash is the hash of that login's token
        # (a claim the model has no field for, like introspection's nbf, is in extra)
        for claim in ("iat", "exp", "auth_time", "nbf"):
            apply(tree, f"{path}.{claim}", minutes_from_now)
            apply(tree, f"{path}.extra.{claim}", minutes_from_now)
        apply(tree, f"{path}.at_hash", issued("at_hash"))

    return normalise


def _finished_login(tree: Any) -> None:
    _new_tokens("result.tokens")(tree)
    _claims("result.id_claims")(tree)


def _keys_fetched(tree: Any) -> None:
    # fetched_at: the client's clock (it drives the key cache)
    apply(tree, "result.fetched_at", minutes_from_now)


SSO = [
    Case("sso.discover"),
    Case("sso.signing_keys", normalise=_keys_fetched),
    Case("sso.begin_login", call(sso_support.REDIRECT_URI, acr_values="LoA2"), _login_request),
    Case("sso.finish_login", _callback, _finished_login),
    Case(
        "sso.verify_id_token",
        _with_tokens(lambda r: Call((r.tokens.id_token,), {"nonce": r.id_claims["nonce"]})),
        _claims("result"),
    ),
    Case("sso.userinfo", _with_tokens(lambda r: Call((r.tokens.access_token,)))),
    Case(
        "sso.introspect",
        _with_tokens(lambda r: Call((r.tokens.access_token,))),
        _claims("result"),
    ),
    Case("sso.refresh", _with_tokens(lambda r: Call((r.tokens,))), _new_tokens("result")),
    Case("sso.revoke", _with_tokens(lambda r: Call((r.tokens.access_token,)))),
    Case(
        "sso.logout_url",
        _with_tokens(
            lambda r: Call((r.tokens.id_token, "http://127.0.0.1:8000/"), {"state": "bye"})
        ),
    ),
    Case("sso.userinfo", call("not-a-token"), label="unknown token", error=True),
    Case("sso.finish_login", _forged_callback, label="state mismatch", error=True),
]


# --- dossiers: the DVCQG portal --------------------------------------------------------

EXCHANGES: dict[str, Any] = json.loads(
    (TESTS / "fixtures" / "dvcqg" / "exchanges.json").read_text("utf-8")
)
"""The public clients' requests (the dossier tests' fixture): items to push."""


def _items(exchange: str) -> Any:
    return EXCHANGES[exchange]["request"]["data"]


def _progress(n: int) -> ProgressRecord:
    return ProgressRecord(
        ma_ho_so=f"HS-{n}",
        handler="Trần Thị B",
        handled_at=datetime(2026, 3, 3, 9, tzinfo=VN_TZ),
        status=DossierStatus.PROCESSING,
    )


def _with_dossier(*args: Any, **kwargs: Any) -> Callable[[World], Call]:
    """Dossier HS-1 and one progress step at the portal, then the call."""

    def arrange(world: World) -> Call:
        helper = world.helper().dossiers
        helper.sync_dossiers([dvcqg_fake.dossier(1)], is_updating=False, idempotency_keys=["a-1"])
        helper.push_progress([_progress(1)], idempotency_keys=["a-2"])
        return Call(args, kwargs)

    return arrange


def _batch(world: World) -> Call:
    core = world.helper().dossiers.core  # what the outbox builds its batches with
    wire = dvcqg_fake.dossier(1).to_wire(blank_unset=True)
    return Call((Batch("DongBoHoSoMC", (core.outgoing(wire, "HS-1", "k-1"),), False),))


def _generated_keys(tree: Any) -> None:
    # without idempotency_keys the client generates one per item and call
    apply(tree, "result.results.*.items.*.idempotency_key", issued("key"))
    apply(tree, "result.results.*.raw.result.*.IdempotencyKey", issued("key"))


DOSSIERS = [
    Case("dossiers.agencies"),
    Case("dossiers.fields"),
    Case("dossiers.procedures"),
    Case("dossiers.procedure", call("1.001193")),
    Case("dossiers.public_services"),
    Case("dossiers.questions"),
    Case("dossiers.answers", call("910002")),
    Case("dossiers.tech_id", call("0100000001")),
    Case("dossiers.exists", _with_dossier("HS-1")),
    Case("dossiers.get", _with_dossier("HS-1")),
    Case(
        "dossiers.sync_dossiers",  # is_updating=None: looks each one up first
        call([dvcqg_fake.dossier(1), dvcqg_fake.dossier(2, 1)], is_updating=None),
        _generated_keys,
    ),
    Case("dossiers.push_progress", _with_dossier([_progress(1)], idempotency_keys=["k-1"])),
    Case("dossiers.send_batch", _batch),
    Case("dossiers.push_satisfaction", call(_items("satisfaction"))),
    Case("dossiers.push_questions", call(_items("question_push"))),
    Case("dossiers.push_answers", call(_items("answer_push"))),
    Case("dossiers.push_promotion_status", call(_items("promotion_status"))),
    Case(
        "dossiers.sync_dossiers",
        call(
            [dvcqg_fake.dossier(1).model_copy(update={"procedure_code": "9.999999"})],
            is_updating=False,
            idempotency_keys=["k-1"],
        ),
        label="unknown procedure",
        error=True,
    ),
    Case("dossiers.get", call("HS-NOPE"), label="unknown dossier", error=True),
]


# --- payments: the DVCQG payment platform -------------------------------------------------

NOT_THERE = "GL-NOT-THERE"
compact_time = vn_time("%Y%m%d%H%M%S")  # ThoiGianGD


def _created(world: World, amount: int = 150_000, *, pay: bool = True) -> Any:
    """A payment created by a helper (and paid on the mock's payment page)."""
    created = world.helper().payments.create_payment(amount, description="Le phi ho so G22.0001")
    world.name(created.reference, "reference")  # the client generates it
    if pay:
        with world.mock.http_client() as browser:
            reply = browser.post(created.url, data={"action": "pay", "bank": "VCB"})
        assert reply.status_code == 303, reply.text
    for payment in world.mock.state()["payments"]["recent"]:
        world.name(payment["transaction_id"], "transaction id")  # the mock's, per payment
    return created


def _paid(world: World) -> Call:
    created = _created(world)
    return Call((created.reference,), {"at": created.transaction_time})


def _to_file(world: World) -> Call:
    paid = _paid(world)
    return Call((*paid.args, world.tmp / "bienlai.pdf"), paid.kwargs)


def _ledger(world: World) -> Call:
    paid = _created(world)
    open_both = _created(world, 30_000, pay=False)
    rows = [
        LocalPayment(reference=paid.reference, amount=150_000),  # paid there, pending here
        LocalPayment(reference=open_both.reference, amount=30_000),  # the books agree
        LocalPayment(reference=NOT_THERE, amount=10_000),  # unknown there
    ]
    return Call((rows,), {"settle": world.seen.append})


def _settle_fails(world: World) -> Call:
    """The same ledger, and a settle hook that raises (reported, never raised)."""

    def settle(difference: Any) -> None:
        raise RuntimeError(f"the books are closed for {difference.reference}")

    return Call(_ledger(world).args, {"settle": settle})


def _platform_view(path: str) -> Callable[[Any], None]:
    def normalise(tree: Any) -> None:
        # ThoiGianGD: the client's clock when the payment was created (sent back with
        # each query), and the reply's checksum (MaXacThuc) covers it
        apply(tree, f"{path}.transaction_time", compact_time)
        apply(tree, f"{path}.checksum", issued("checksum"))

    return normalise


def _new_payment(tree: Any) -> None:
    # the client generates the reference (MaThamChieu: the time and a random part)
    # and stamps INIT with its clock (the checksum covers both); the page is the mock's
    rename(tree, tree["result"]["reference"], "<reference>")
    _platform_view("result.request")(tree)
    apply(tree, "result.url", lambda url: url.rpartition("/")[0] + "/<page>")


def _reconciled(tree: Any) -> None:
    for where in ("result.differences.*.remote", "seen.*.remote"):
        _platform_view(where)(tree)


def _pdf_text(content: bytes) -> str:
    """The receipt as a payer reads it, the times printed as distances from now."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(
        r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", lambda m: vn_time("%d/%m/%Y %H:%M:%S")(m[0]), text
    )


def _receipt(tree: Any) -> None:
    # the PDF holds its creation time and a subset of the font with just the glyphs
    # used (references and transaction ids differ per side): compare its text and
    # that the size is the content's
    result = tree["result"]
    result["size"] = f"len(content) == {result['size'] == len(result['content'])}"
    apply(tree, "result.content", _pdf_text)


def _receipt_file(tree: Any) -> None:
    # as _receipt, and each side writes into its own folder
    result = tree["result"]
    path = result["path"]
    result["size"] = f"file size == {result['size'] == path.stat().st_size}"
    result["path"] = {"name": path.name, "text": _pdf_text(path.read_bytes())}


PAYMENTS = [
    Case("payments.create_payment", call(150_000, description="Le phi"), _new_payment),
    Case("payments.query_payment", _paid, _platform_view("result")),
    Case("payments.get_receipt", _paid, _receipt),
    Case("payments.get_receipt", _to_file, _receipt_file, label="streamed to a file"),
    Case("payments.reconcile", _ledger, _reconciled, any_order=True),
    Case(
        "payments.reconcile",
        _settle_fails,
        _reconciled,
        any_order=True,
        label="settle hook raises",
    ),
    Case("payments.query_payment", call(NOT_THERE), label="unknown reference", error=True),
]


# --- documents: agency A sends to agency B over the axis -----------------------------------

AGENCY_A, AGENCY_B = documents_support.AGENCY_A, documents_support.AGENCY_B
PACKAGE = documents_fixtures.sample_package()
"""What both sides send: one package, as a new one gets a random attachment id."""


def _as(code: str) -> Callable[[InProcessMock], GovLinkSettings]:
    """Settings of one demo agency, signing with the mock's test PKI."""
    return lambda mock: documents_support.agency_settings(mock, code)


def _package() -> Any:
    return PACKAGE.model_copy(deep=True)


def _delivered(world: World) -> str:
    """The package sent from A to B by a helper; its doc id (the axis's, per side)."""
    sent = world.helper(_as(AGENCY_A)(world.mock)).documents.send(_package())
    return str(world.name(sent.doc_id, "doc id"))


DOC = object()
"""Stands for the doc id of the package waiting for B in ``_waiting``'s arguments."""


def _sending(**kwargs: Any) -> Callable[[World], Call]:
    """The package to send (a copy for each side: sending may touch it)."""
    return lambda world: Call((_package(),), kwargs)


def _waiting(*args: Any, **kwargs: Any) -> Callable[[World], Call]:
    """The package waiting for B, then the call."""

    def arrange(world: World) -> Call:
        doc_id = _delivered(world)
        return Call(tuple(doc_id if a is DOC else a for a in args), kwargs)

    return arrange


def _verified(world: World) -> Call:
    doc_id = _delivered(world)
    return Call((world.helper(_as(AGENCY_B)(world.mock)).documents.get(doc_id), "03"))


def _answered(world: World) -> Call:
    """A's package, and B's status 03 (received) back to A."""
    b = world.helper(_as(AGENCY_B)(world.mock)).documents
    b.send_status(*_verified(world).args)
    for status in world.helper(_as(AGENCY_A)(world.mock)).documents.received(messagetype="status"):
        world.name(status.doc_id, "status id")
    return Call()


def _received_by_callback(world: World) -> Call:
    _delivered(world)
    return Call((world.seen.append,))


def _tampered(arrange: Callable[[World], Call]) -> Callable[[World], Call]:
    """``arrange``, and the axis delivers the package changed after it was signed."""

    def arrange_tampered(world: World) -> Call:
        arguments = arrange(world)
        world.mock.switch("documents", deliver_tampered=True)
        return arguments

    return arrange_tampered


def _rejecting(world: World) -> Call:
    _delivered(world)
    return Call(
        (world.seen.append,),
        {
            "reject_invalid": True,
            "on_invalid": lambda summary, exc: world.seen.append((summary, _error(exc))),
        },
    )


def _agency_registered(world: World) -> Call:
    world.helper(_as(AGENCY_A)(world.mock)).documents.register_agency("003.00.00.H47", "Sở Y tế")
    return Call(("003.00.00.H47",))


def _new_document(tree: Any) -> None:
    # the axis gives each message it accepts a new id
    rename(tree, tree["result"]["doc_id"], "<new doc id>")


DOCUMENTS = [
    Case("documents.send", _sending(), _new_document, settings=_as(AGENCY_A)),
    Case("documents.received", _waiting(), settings=_as(AGENCY_B)),
    Case("documents.count", _waiting(), settings=_as(AGENCY_B)),
    Case("documents.fetch", _waiting(DOC), settings=_as(AGENCY_B)),
    Case("documents.fetch", _waiting(DOC, download=True), settings=_as(AGENCY_B), label="download"),
    Case("documents.get", _waiting(DOC), settings=_as(AGENCY_B)),
    Case("documents.acknowledge", _waiting(DOC), settings=_as(AGENCY_B)),
    Case("documents.receive", _received_by_callback, settings=_as(AGENCY_B)),
    Case(
        "documents.receive",
        _tampered(_rejecting),
        settings=_as(AGENCY_B),
        label="tampered delivery rejected",
    ),
    Case("documents.send_status", _verified, _new_document, settings=_as(AGENCY_B)),
    Case("documents.sent", _answered, settings=_as(AGENCY_A)),
    Case("documents.count_statuses", _answered, settings=_as(AGENCY_A)),
    Case("documents.agencies", settings=_as(AGENCY_A)),
    Case("documents.sync_units", settings=_as(AGENCY_A)),
    Case("documents.register_agency", call("003.00.00.H47", "Sở Y tế"), settings=_as(AGENCY_A)),
    Case("documents.delete_agency", _agency_registered, settings=_as(AGENCY_A)),
    Case(
        "documents.get",
        _tampered(_waiting(DOC)),
        settings=_as(AGENCY_B),
        label="tampered delivery",
        error=True,
    ),
    Case(
        "documents.send",
        _sending(sign=False),
        settings=_as(AGENCY_A),
        label="unsigned package",
        error=True,
    ),
]


# --- faults: the two HTTP transports' retries and broken replies ----------------------------


def _retrying(mock: InProcessMock) -> GovLinkSettings:
    """Two retries without waiting: a fault that fires once is retried at once."""
    return mock.settings(http={"max_retries": 2, "backoff_initial": 0, "backoff_max": 0})


def _then_fault(arrange: Callable[[World], Call], **fault: Any) -> Callable[[World], Call]:
    """``arrange``, then a fault on the next matching request."""

    def arrange_and_break(world: World) -> Call:
        arguments = arrange(world)
        world.mock.set_fault(count=1, **fault)
        return arguments

    return arrange_and_break


def _fault_id(tree: Any) -> None:
    # the mock numbers the faults it was given since it started, across resets
    apply(tree, "error.message", lambda text: re.sub(r"mock fault f\d+", "mock fault f?", text))


FAULTS = [
    Case(
        "citizens.lookup",
        _then_fault(call(*AN, **REQUEST_ID), platform="citizens", status=503),
        settings=_retrying,
        label="503 once, retried",
    ),
    Case(
        "dossiers.procedures",
        _then_fault(call(), platform="dossiers", path="/share", reset_connection=True),
        settings=_retrying,
        label="connection reset once, retried",
    ),
    Case(
        "sso.discover",
        _then_fault(call(), platform="sso", status=500),
        label="provider down",
        error=True,
    ),
    Case(
        "payments.query_payment",
        _then_fault(call(NOT_THERE), platform="payments", malformed_body=True),
        label="malformed reply",
        error=True,
    ),
    Case(
        "documents.received",
        _then_fault(_waiting(), platform="documents", truncate_body=True),
        _fault_id,
        settings=_as(AGENCY_B),
        label="truncated reply",
        error=True,
    ),
]

CASES = [*CITIZENS, *SSO, *DOSSIERS, *PAYMENTS, *DOCUMENTS, *FAULTS]

EXEMPT: dict[str, str] = {}
"""``namespace.method`` -> why it cannot be compared here. None so far: every public
I/O method has a case."""


# --- running one side -------------------------------------------------------------------


def _error(exc: BaseException) -> dict[str, Any]:
    """What a caller reads of an error, less the correlation id (per call; ``str()``
    carries it too) and the evidence (timing and raw exchanges of the call)."""
    shown = {"type": type(exc).__qualname__, "message": getattr(exc, "message", str(exc))}
    for key, value in vars(exc).items():
        if key not in {"evidence", "correlation_id", "message"} and not key.startswith("_"):
            shown[key] = value
    shown["retryable"] = getattr(exc, "retryable", None)
    return shown


def _normalise_platform(namespace: str, tree: dict[str, Any]) -> None:
    """What differs in every case of a platform: times the mock stamps with its clock
    at each call, and the ids the axis gives every message it accepts (the messages
    sent while arranging are named already: the others were sent by the call)."""
    apply(tree, "state.sessions.*.since", minutes_from_now)
    if namespace == "documents":
        apply_keys(
            tree, {"created_time", "updated_time", "sent_time", "received_time"}, minutes_from_now
        )
        apply(tree, "state.recent.*.created", minutes_from_now)
        apply(tree, "state.recent.*.docId", lambda v: v if v.startswith("<") else "<new doc id>")


class Side:
    """One side of a case: arrange on a reset mock, call, observe."""

    def __init__(self, case: Case, mock: InProcessMock, tmp: Path) -> None:
        mock.reset()
        tmp.mkdir(parents=True)
        self.case = case
        self.world = World(mock, tmp)
        try:
            self.call = case.arrange(self.world)
        finally:
            self.world.close()
        last = mock.journal(order="desc", limit=1)
        self.since = int(last[0]["id"]) if last else 0
        self.outcome: dict[str, Any] = {}

    def observe(self) -> dict[str, Any]:
        mock, case = self.world.mock, self.case
        requests = [
            (e["method"], e["platform"], e["platform_path"], e["status"])
            for e in mock.journal(since=self.since)
        ]
        self.outcome["requests"] = sorted(requests) if case.any_order else requests
        self.outcome["state"] = mock.state()[case.namespace]
        self.outcome["seen"] = self.world.seen
        tree = plain(self.outcome, self.world.names)
        case.normalise(tree)
        _normalise_platform(case.namespace, tree)
        return plain(tree, self.world.names)  # again: the normaliser may have made text


def run_sync(case: Case, mock: InProcessMock, tmp: Path) -> dict[str, Any]:
    side = Side(case, mock, tmp)
    with GovLink(case.settings(mock), transport=mock.sync_transport) as gl:
        method = getattr(getattr(gl, case.namespace), case.method)
        try:
            side.outcome["result"] = method(*side.call.args, **side.call.kwargs)
        except Exception as exc:
            side.outcome["error"] = _error(exc)
    return side.observe()


async def run_async(case: Case, mock: InProcessMock, tmp: Path) -> dict[str, Any]:
    side = Side(case, mock, tmp)
    async with AsyncGovLink(case.settings(mock), transport=mock.transport) as gl:
        method = getattr(getattr(gl, case.namespace), case.method)
        try:
            side.outcome["result"] = await method(*side.call.args, **side.call.kwargs)
        except Exception as exc:
            side.outcome["error"] = _error(exc)
    return side.observe()


# --- the tests ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_sync_and_async_give_the_same_result(
    case: Case, govlink_mock_app: InProcessMock, tmp_path: Path
) -> None:
    sync = run_sync(case, govlink_mock_app, tmp_path / "sync")
    asynchronous = await run_async(case, govlink_mock_app, tmp_path / "async")
    assert asynchronous == sync
    assert ("error" in sync) is case.error, sync.get("error", "the call did not fail")
    assert sync["requests"], "the call reached no mock: the case compares nothing"


def _io_methods() -> set[str]:
    """``namespace.method`` of every public method that needs a case: all but
    ``close`` and the no-I/O functions both clients share."""
    out = set()
    for namespace in facade._NAMESPACES:
        sync_cls, async_cls = _classes(namespace)
        twins = _public_methods(async_cls)
        for name, method in _public_methods(sync_cls).items():
            if name != "close" and twins.get(name) is not method:
                out.add(f"{namespace}.{name}")
    return out


def test_every_public_method_has_a_case() -> None:
    covered = {case.target for case in CASES}
    missing = _io_methods() - covered - set(EXEMPT)
    assert not missing, f"add a case (or an exemption and why) for {sorted(missing)}"
    assert not set(EXEMPT) & covered, f"exempt but compared: {sorted(set(EXEMPT) & covered)}"
    assert not (covered | set(EXEMPT)) - _io_methods(), "a case names no public I/O method"
    assert len(covered) > 40


def test_every_platform_compares_an_error() -> None:
    assert {case.namespace for case in CASES if case.error} == set(facade._NAMESPACES)
