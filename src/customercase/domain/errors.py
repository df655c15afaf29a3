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


class MergeRefused(Conflict):
    """A merge or unmerge that cannot be done as asked; names the field at fault."""


class IdeaMerged(Conflict):
    """Votes and comments go to the idea a merged one now lives in."""

    def __init__(self) -> None:
        super().__init__("idea_id", "This idea was merged into another; vote and comment there.")
