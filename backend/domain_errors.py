"""What can go wrong in the domain, said without HTTP.

Storage, signing, verification, the job child, cases, reports and accounts raise these; each carries a
stable `code` (the API's `error.code`) and a `message` for people. The web edge (backend/errors.py)
turns the class into a status code and the `{"error": {"code", "message"}}` body, so a domain module
never imports starlette and a CLI or job process can catch the same errors.
"""

from __future__ import annotations


class DomainError(Exception):
    """A failure the caller can act on. Raise a subclass: the class says what kind of failure it is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidInput(DomainError):
    """The request names something malformed or out of range."""


class Forbidden(DomainError):
    """The caller may not do this (role, account status, identity not verified)."""


class NotFound(DomainError):
    """The thing named does not exist (or the caller may not know that it does)."""


class Conflict(DomainError):
    """The request contradicts the current state (a closed case, an already used name)."""


class TooLarge(DomainError):
    """The input is over a size limit."""


class UnsupportedMedia(DomainError):
    """The media type (or request body type) is not one the service handles."""


class Unprocessable(DomainError):
    """Well-formed input the service cannot use (e.g. media with no usable fingerprint)."""


class RateLimited(DomainError):
    """Too many requests; `retry_after` is how many seconds to wait."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A store the service needs is down; the same request may succeed later."""


class LimitExceeded(DomainError):
    """The work needs more of a resource (memory, time) than this deployment allows."""


class MediaError(DomainError):
    """The media cannot be handled; raise one of the subclasses below."""


class BadMedia(MediaError, InvalidInput):
    """Damaged, empty or undecodable media."""


class MediaTooLarge(MediaError, TooLarge):
    """Media over a size or pixel limit."""


class UnsupportedMediaType(MediaError, UnsupportedMedia):
    """Media of a type avlabel does not handle."""
