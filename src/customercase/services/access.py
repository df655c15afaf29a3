"""Who may see a forum and who may run it: the checks every use case starts with."""

from __future__ import annotations

from customercase.domain.errors import ForumNotFound, IdeaNotFound, NotAllowed, NotSignedIn
from customercase.domain.ideas import Idea
from customercase.domain.ids import ForumId, IdeaId, UserId, VendorId
from customercase.domain.ports import UnitOfWork
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Role, Viewer


async def viewer_of(
    uow: UnitOfWork, vendor_id: VendorId, forum: Forum | None, user_id: UserId | None
) -> Viewer:
    """The facts about a (possibly anonymous) user that decide what they may see."""
    if user_id is None:
        return Viewer(user=None)
    return await _viewer(uow, forum, await uow.users.with_role(user_id, vendor_id))


async def _viewer(
    uow: UnitOfWork, forum: Forum | None, found: tuple[User, Role | None] | None
) -> Viewer:
    if found is None:
        return Viewer(user=None)
    user, role = found
    invited = (
        forum is not None
        and forum.is_private
        and role is None
        and await uow.forums.is_invited(forum.id, user.email)
    )
    return Viewer(user=user, role=role, is_invited=invited)


async def open_forum(
    uow: UnitOfWork, forum_id: ForumId, user_id: UserId | None
) -> tuple[Forum, Viewer]:
    """The forum and its viewer; ForumNotFound when it is absent or not visible to them."""
    forum = await uow.forums.get(forum_id)
    if forum is None:
        raise ForumNotFound()
    return forum, await _admitted(uow, forum, user_id)


async def readable_forum(uow: UnitOfWork, forum_id: ForumId, user_id: UserId | None) -> Forum:
    """The forum, for a read that needs no viewer but whether they may see it; ForumNotFound
    when absent or not visible. A public forum admits everyone, so only a private one reads who
    the viewer is (a round trip a signed-in list of a public forum does not need)."""
    forum = await uow.forums.get(forum_id)
    if forum is None:
        raise ForumNotFound()
    if forum.is_private:
        await _admitted(uow, forum, user_id)
    return forum


async def _admitted(uow: UnitOfWork, forum: Forum, user_id: UserId | None) -> Viewer:
    """The forum's viewer; ForumNotFound when the forum is not visible to them."""
    viewer = await viewer_of(uow, forum.vendor_id, forum, user_id)
    if not forum.admits(viewer):
        raise ForumNotFound()
    return viewer


async def open_idea(
    uow: UnitOfWork, idea_id: IdeaId, user_id: UserId | None, *, lock: bool = False
) -> tuple[Idea, Forum, Viewer]:
    """The idea, its forum and viewer; IdeaNotFound when absent or in a forum they can't see.
    With `lock`, its counters stay as read until the unit of work ends (IdeaRepository.opened):
    for a vote, which then moves them without reading them again."""
    found = await uow.ideas.opened(idea_id, user_id, lock=lock)
    if found is None:
        raise IdeaNotFound()
    idea, forum, seen = found
    viewer = await _viewer(uow, forum, seen)
    if not forum.admits(viewer):
        raise IdeaNotFound()
    # A held idea is its author's and the staff's alone (spam defence); to others it is absent.
    if not idea.is_visible_to(user_id, is_staff=viewer.is_staff):
        raise IdeaNotFound()
    return idea, forum, viewer


def require_user(viewer: Viewer) -> User:
    if viewer.user is None:
        raise NotSignedIn()
    return viewer.user


def require_staff(viewer: Viewer) -> Role:
    require_user(viewer)
    if viewer.role is None:
        raise NotAllowed("Only the vendor's staff can do that.")
    return viewer.role
