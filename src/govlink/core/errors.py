"""One exception hierarchy for every platform, so callers can catch by meaning.

Each error carries what a user needs to act: a message that says what to do next
(``hint``), the correlation id of the logical call (to quote to the platform
operator), and, for replies from a platform, its code and the raw reply. Messages
are masked with :mod:`govlink.core.redact` before they are stored, so an exception
that ends up in a log never leaks a citizen's ID number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from govlink.core.redact import redact_text

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "GovLinkError",
    "GovLinkTimeoutError",
    "NotFoundError",
    "PlatformError",
    "RateLimitedError",
    "ReplyTooLargeError",
    "SignatureError",
    "TokenUnavailableError",
    "TransportError",
    "ValidationError",
]


class GovLinkError(Exception):
    """Root of every error raised by govlink.

    ``evidence`` is set when the error ends a call: by :mod:`govlink.core.http`
    (an :class:`~govlink.core.http.Evidence` of the failed exchange) and, when the
    call ran as a plan, by :mod:`govlink.core.driver` (a
    :class:`~govlink.core.driver.CallEvidence` of every exchange of the call, whose
    ``correlation_id``/``status_code``/``response_body``/``masked()`` read the same).
    """

    evidence: Any = None
    #: Whether repeating the same call later may succeed. Transport faults, timeouts,
    #: 429, 5xx and "busy" platform codes are retryable; refusals, validation and
    #: configuration errors are not. The retry policy and the outbox worker use this.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.message = redact_text(message)
        self.hint = hint
        self.correlation_id = correlation_id
        super().__init__(self.message)

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} — {self.hint}"
        if self.correlation_id:
            text = f"{text} [correlation id {self.correlation_id}]"
        return text


class ConfigurationError(GovLinkError):
    """A setting is missing or malformed; ``setting`` names the variable to fix."""

    def __init__(self, message: str, *, setting: str, expected: str | None = None) -> None:
        self.setting = setting
        self.expected = expected
        hint = f"set {setting}" + (f" to {expected}" if expected else "")
        super().__init__(message, hint=hint)


class TransportError(GovLinkError):
    """The platform could not be reached (DNS, connect, TLS, reset). Usually retryable."""

    retryable = True


class TokenUnavailableError(TransportError):
    """The gateway's token endpoint failed (5xx, 429): nothing reached the API yet.

    Because the API request was never sent, retrying is safe even for unsafe calls;
    :mod:`govlink.core.http` does so within its retry policy.
    """


class GovLinkTimeoutError(TransportError):
    """The platform did not answer in time."""


class RateLimitedError(TransportError):
    """The platform answered 429; ``retry_after`` is the delay it asked for, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        hint = (
            f"wait {retry_after:g} s before retrying"
            if retry_after is not None
            else "slow down and retry later"
        )
        super().__init__(message, hint=hint, correlation_id=correlation_id)


class ReplyTooLargeError(GovLinkError):
    """A reply grew past its size cap while it was read; the rest was not read.

    ``limit`` is the cap in bytes. Not retryable: the same request would bring the
    same reply. Raise ``GOVLINK_HTTP__MAX_REPLY_BYTES`` if the reply is legitimate,
    or stream large downloads to a file.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: int,
        hint: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.limit = limit
        super().__init__(
            message,
            hint=hint
            or f"the reply exceeded {limit} bytes; raise GOVLINK_HTTP__MAX_REPLY_BYTES if it "
            "is expected, or download it to a file",
            correlation_id=correlation_id,
        )


class AuthenticationError(GovLinkError):
    """Credentials, token or session were refused by the platform or the gateway."""


class PlatformError(GovLinkError):
    """The platform answered with an error code.

    ``code`` is the platform's own code (kept as a string), ``raw`` the reply as
    received (bytes or parsed JSON), ``items`` the ids concerned when a batch was
    partly rejected.
    """

    #: A reply with HTTP 5xx makes the error retryable (a subclass may say no).
    retry_on_server_error: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        raw: Any = None,
        items: Sequence[str] = (),
        status_code: int | None = None,
        hint: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.code = code
        self.raw = raw
        self.items = tuple(items)
        self.status_code = status_code
        super().__init__(message, hint=hint, correlation_id=correlation_id)
        if status_code is not None and status_code >= 500 and self.retry_on_server_error:
            self.retryable = True


class NotFoundError(PlatformError):
    """The platform has no record for what was asked (dossier, citizen, document).

    Never retryable, whatever HTTP status carried it (a SOAP service sends every
    fault, "no such citizen" included, with HTTP 500): asking again finds nothing more.
    """

    retry_on_server_error: ClassVar[bool] = False


class ValidationError(GovLinkError):
    """Input rejected before anything was sent: ``field`` and what was ``expected``."""

    def __init__(self, field: str, expected: str, *, got: object = None) -> None:
        self.field = field
        self.expected = expected
        shown = "" if got is None else f" (got {redact_text(repr(got))})"
        super().__init__(
            f"{field}: expected {expected}{shown}",
            hint=f"correct {field} and call again; nothing was sent",
        )


class SignatureError(GovLinkError):
    """A signature or checksum did not verify, or the signer is not trusted."""
