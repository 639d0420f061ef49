"""The dossier status state machine: which ``TrangThaiHoSo`` may follow which.

The portal does not publish its rules; this table encodes the processing flow of
the one-stop-shop regulations (Decree 61/2018, Decree 107/2021) as integrations
follow it, so that a slip in a vendor's code (a returned dossier sent back to
"processing") is refused *before* it reaches the portal, where it would count
against the province. Callers who know better pass ``force=True``.

Rules:

* re-sending the current status is always allowed (other fields changed);
* 3 (refused at intake) and 10 (result returned) are terminal;
* 8 (stopped) may only go on to 10 (papers handed back);
* codes govlink does not know are allowed in and out of non-terminal states
  (an open enum must not block a newer portal revision).
"""

from __future__ import annotations

from collections.abc import Mapping

from govlink.core.errors import GovLinkError, ValidationError
from govlink.dossiers.models import DossierStatus as S

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "IllegalTransitionError",
    "allowed_next",
    "check_transition",
    "is_allowed",
]

TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.NEW: frozenset({S.RECEIVED, S.REFUSED, S.WITHDRAWAL_REQUESTED}),
    S.RECEIVED: frozenset(
        {
            S.PROCESSING,
            S.SUPPLEMENT_REQUESTED,
            S.PAYMENT_REQUESTED,
            S.WITHDRAWAL_REQUESTED,
            S.STOPPED,
            S.PROCESSED,
        }
    ),
    S.REFUSED: frozenset(),
    S.PROCESSING: frozenset(
        {
            S.SUPPLEMENT_REQUESTED,
            S.PAYMENT_REQUESTED,
            S.WITHDRAWAL_REQUESTED,
            S.STOPPED,
            S.PROCESSED,
        }
    ),
    S.SUPPLEMENT_REQUESTED: frozenset(
        {S.RECEIVED, S.PROCESSING, S.WITHDRAWAL_REQUESTED, S.STOPPED}
    ),
    S.PAYMENT_REQUESTED: frozenset(
        {
            S.PROCESSING,
            S.SUPPLEMENT_REQUESTED,
            S.WITHDRAWAL_REQUESTED,
            S.STOPPED,
            S.PROCESSED,
            S.RESULT_RETURNED,
        }
    ),
    S.WITHDRAWAL_REQUESTED: frozenset(
        {
            S.RECEIVED,
            S.PROCESSING,
            S.SUPPLEMENT_REQUESTED,
            S.PAYMENT_REQUESTED,
            S.STOPPED,
            S.PROCESSED,
        }
    ),
    S.STOPPED: frozenset({S.RESULT_RETURNED}),
    S.PROCESSED: frozenset({S.PAYMENT_REQUESTED, S.RESULT_RETURNED}),
    S.RESULT_RETURNED: frozenset(),
}
"""Legal next statuses of each known status (the current one is always allowed too)."""

TERMINAL: frozenset[S] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTransitionError(ValidationError):
    """A status change the state machine refuses; nothing was sent.

    ``from_status`` and ``to_status`` name both states; pass ``force=True`` to the
    call that raised it when the portal really must receive it (a correction).
    """

    def __init__(self, from_status: S, to_status: S, *, ma_ho_so: str | None = None) -> None:
        self.field = "TrangThaiHoSo"
        self.from_status = from_status
        self.to_status = to_status
        self.ma_ho_so = ma_ho_so
        allowed = allowed_next(from_status)
        self.expected = (
            "nothing (terminal status)"
            if not allowed
            else ", ".join(str(int(s)) for s in sorted(allowed))
        )
        which = f"dossier {ma_ho_so}: " if ma_ho_so else ""
        GovLinkError.__init__(
            self,
            f"{which}illegal status change {from_status.describe()} → {to_status.describe()}; "
            f"allowed after {int(from_status)}: {self.expected}",
            hint="fix the status, or pass force=True (CLI: --force) to send it anyway",
        )


def allowed_next(current: S) -> frozenset[S]:
    """The statuses that may follow ``current`` (besides itself)."""
    return TRANSITIONS.get(current, frozenset())


def is_allowed(current: S | int, target: S | int) -> bool:
    """Whether ``current → target`` is legal (see the module docstring)."""
    old, new = S(current), S(target)
    if old == new:
        return True
    if not old.known:
        return True
    if old in TERMINAL:
        return False
    if not new.known:
        return True
    return new in TRANSITIONS[old]


def check_transition(
    current: S | int | None,
    target: S | int,
    *,
    force: bool = False,
    ma_ho_so: str | None = None,
) -> None:
    """Raise :class:`IllegalTransitionError` for an illegal change (unless ``force``).

    ``current=None`` means the dossier is new to the caller: any status is accepted.
    """
    if force or current is None:
        return
    if not is_allowed(current, target):
        raise IllegalTransitionError(S(current), S(target), ma_ho_so=ma_ho_so)
