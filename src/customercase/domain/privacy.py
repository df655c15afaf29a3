"""A user's own data, as they may take it away, and what is left when they leave (issue 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customercase.domain.ideas import Comment, Idea
from customercase.domain.ids import IdeaId, UserId, VendorId
from customercase.domain.users import User
from customercase.domain.vendors import Role

# What other users see in place of an erased account's name; its content stays.
DELETED_NAME = "deleted user"


def erased_email(user_id: UserId) -> str:
    """A unique placeholder that is no one's address (.invalid never resolves, RFC 2606)."""
    return f"deleted-{user_id}@deleted.invalid"


@dataclass(frozen=True, slots=True)
class VoteRecord:
    idea_id: IdeaId
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WatchRecord:
    idea_id: IdeaId
    watching: bool


@dataclass(frozen=True, slots=True)
class StaffRecord:
    vendor_id: VendorId
    role: Role


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Everything stored about one user that is theirs: the account and what they did."""

    user: User
    ideas: list[Idea]
    comments: list[Comment]
    votes: list[VoteRecord]
    watches: list[WatchRecord]
    staff: list[StaffRecord]
