"""Typed identifiers: opaque strings that cannot be swapped by accident."""

from typing import NewType

UserId = NewType("UserId", str)
VendorId = NewType("VendorId", str)
ForumId = NewType("ForumId", str)
IdeaId = NewType("IdeaId", str)
CommentId = NewType("CommentId", str)
