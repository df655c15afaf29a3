"""Every situation a user can cause, one class each; entrypoints map them to answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause."""

    message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class InvalidField(DomainError):
    """A value that breaks a rule of the model; names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    message = "Not found."


class VendorNotFound(NotFound):
    message = "No such vendor."


class ForumNotFound(NotFound):
    """Also raised for a private forum the viewer may not see: 404, never 403."""

    message = "No such forum."


class IdeaNotFound(NotFound):
    message = "No such idea."


class NotSignedIn(DomainError):
    message = "Sign in to do that."


class NotAllowed(DomainError):
    message = "You are not allowed to do that."


class BadCredentials(DomainError):
    """One message for every sign-in failure, so it reveals nothing."""

    message = "The email or password is not right."


class Conflict(DomainError):
    """The request clashes with something that exists; names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "email",
            "An account with this email exists. Sign in, or reset the password to claim it.",
        )


class SlugTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("slug", "This slug is already in use.")


class TooManyAttempts(DomainError):
    """A rate limit was reached; `retry_after` says in how many seconds to try again."""

    message = "Too many attempts. Wait a while and try again."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class InvalidToken(DomainError):
    """A reset or verification link that is unknown, used or expired: all look the same."""

    message = "This link is not valid any more. Ask for a new one."


class LastAdmin(Conflict):
    """An account cannot go while it is the only admin of a vendor (DESIGN.md, Vendor)."""

    def __init__(self) -> None:
        super().__init__(
            "account",
            "You are the only admin of a vendor. Make someone else admin before you leave.",
        )


class TrackerUnavailable(DomainError):
    """The tracker could not be reached or answered with a passing failure; try again later."""

    message = "The issue tracker cannot be reached just now."


class TrackerRejected(DomainError):
    """The tracker refused the request for good (bad credentials, unknown project, bad field)."""

    message = "The issue tracker refused the request."

    def __init__(self, message: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class TrackerNotConnected(DomainError):
    message = "This vendor has not connected a Jira site."


class ExternalSignInFailed(DomainError):
    """A sign-in through an identity provider that did not check out; one message for all."""

    message = "Signing in with Google did not work. Try again."


class IdentityProviderUnavailable(DomainError):
    """The identity provider could not be reached or answered nonsense."""

    message = "Google sign-in is briefly unavailable; try again."


class MergeRefused(Conflict):
    """A merge or unmerge that cannot be done as asked; names the field at fault."""


class IdeaMerged(Conflict):
    """Votes and comments go to the idea a merged one now lives in."""

    def __init__(self) -> None:
        super().__init__("idea_id", "This idea was merged into another; vote and comment there.")
