"""Vendors and the forums they run."""

from __future__ import annotations

from dataclasses import dataclass, replace

from customercase.domain.errors import InvalidField, NotSignedIn, VendorNotFound
from customercase.domain.ids import ForumId, UserId, VendorId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import Clock, Ids, ListCache, UnitOfWork
from customercase.domain.users import hash_token, normalise_email
from customercase.domain.vendors import (
    Forum,
    JiraBinding,
    Role,
    Vendor,
    Viewer,
    Visibility,
    check_domains,
    check_search_language,
    check_slug,
    check_title,
)
from customercase.services.access import open_forum, require_staff, viewer_of

MAX_INVITATIONS = 500


@dataclass(frozen=True, slots=True)
class CreateVendor:
    name: str
    slug: str
    creator_id: UserId


@dataclass(frozen=True, slots=True)
class CreateForum:
    vendor_id: VendorId
    name: str
    slug: str
    visibility: Visibility
    actor_id: UserId | None
    allowed_domains: tuple[str, ...] = ()
    jira: JiraBinding | None = None
    holds_first_posts: bool = False
    search_language: str = "english"


@dataclass(frozen=True, slots=True)
class UpdateForum:
    forum_id: ForumId
    actor_id: UserId | None
    name: str | None = None
    slug: str | None = None
    visibility: Visibility | None = None
    allowed_domains: tuple[str, ...] | None = None
    jira: JiraBinding | None = None
    holds_first_posts: bool | None = None
    search_language: str | None = None


@dataclass(frozen=True, slots=True)
class VendorView:
    vendor: Vendor
    my_role: Role | None


async def create_vendor(
    cmd: CreateVendor, *, uow: UnitOfWork, clock: Clock, ids: Ids
) -> VendorView:
    """Open a vendor account; its creator becomes its first admin."""
    vendor = Vendor(
        VendorId(ids.new_id()), check_title(cmd.name), check_slug(cmd.slug), clock.now()
    )
    async with uow:
        await uow.vendors.add(vendor)
        await uow.vendors.add_staff(vendor.id, cmd.creator_id, Role.ADMIN)
        await uow.commit()
    return VendorView(vendor, Role.ADMIN)


async def get_vendor(vendor_id: VendorId, user_id: UserId | None, *, uow: UnitOfWork) -> VendorView:
    """A vendor's public face, with the viewer's role there."""
    async with uow:
        vendor = await uow.vendors.get(vendor_id)
        if vendor is None:
            raise VendorNotFound()
        role = await uow.vendors.role_of(vendor_id, user_id) if user_id else None
    return VendorView(vendor, role)


async def create_forum(cmd: CreateForum, *, uow: UnitOfWork, clock: Clock, ids: Ids) -> Forum:
    """Open a new forum for the vendor's customers (staff only)."""
    forum = Forum(
        id=ForumId(ids.new_id()),
        vendor_id=cmd.vendor_id,
        name=check_title(cmd.name),
        slug=check_slug(cmd.slug),
        visibility=cmd.visibility,
        mailbox_hash=hash_token(ids.new_token())[:16],
        created_at=clock.now(),
        allowed_domains=check_domains(cmd.allowed_domains),
        jira=cmd.jira,
        holds_first_posts=cmd.holds_first_posts,
        search_language=check_search_language(cmd.search_language),
    )
    async with uow:
        if await uow.vendors.get(cmd.vendor_id) is None:
            raise VendorNotFound()
        require_staff(await viewer_of(uow, cmd.vendor_id, None, cmd.actor_id))
        await uow.forums.add(forum)
        if forum.jira is not None:
            await _import_project(uow, forum, clock, ids)
        await uow.commit()
    return forum


async def _import_project(uow: UnitOfWork, forum: Forum, clock: Clock, ids: Ids) -> None:
    """Binding a forum imports its project: from the start, by the outbox's tracker job."""
    await uow.tracker.set_cursor(forum.id, None)
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.IMPORT_TRACKER_PROJECT,
            clock.now(),
            payload={"forum_id": forum.id},
        )
    )


async def update_forum(
    cmd: UpdateForum, *, uow: UnitOfWork, clock: Clock, ids: Ids, cache: ListCache
) -> Forum:
    """Change a forum's name, slug, visibility, allowed domains or Jira binding (staff only).

    Whoever gains or loses access by the change is told (a "forum access changed" email).
    This process's kept pages of the forum go once it is committed: a forum turned private is
    never answered from them (`cache` is required for that reason).
    """
    async with uow:
        forum, viewer = await open_forum(uow, cmd.forum_id, cmd.actor_id)
        require_staff(viewer)
        changed = forum.changed(
            name=cmd.name,
            slug=cmd.slug,
            visibility=cmd.visibility,
            allowed_domains=cmd.allowed_domains,
            jira=cmd.jira,
            holds_first_posts=cmd.holds_first_posts,
            search_language=cmd.search_language,
        )
        await uow.forums.update(changed)
        rebound = changed.jira is not None and (
            forum.jira is None or forum.jira.project_key != changed.jira.project_key
        )
        if rebound:
            await _import_project(uow, changed, clock, ids)
        if (changed.visibility, changed.allowed_domains) != (
            forum.visibility,
            forum.allowed_domains,
        ):
            # Only people with a trace in the forum are checked: cheap, and they are the ones
            # who would notice. Anyone else finds out on their next visit.
            for person in await uow.forums.involved_viewers(forum):
                await _tell_if_access_changed(uow, forum, changed, person, person, clock, ids)
        await uow.commit()
    cache.invalidate(forum.id)
    return changed


async def unbind_jira(forum_id: ForumId, actor_id: UserId | None, *, uow: UnitOfWork) -> Forum:
    """Stop the forum's Jira binding (staff only); its ideas keep the issue keys they had."""
    async with uow:
        forum, viewer = await open_forum(uow, forum_id, actor_id)
        require_staff(viewer)
        unbound = replace(forum, jira=None)
        if forum.jira is not None:
            await uow.forums.update(unbound)
        await uow.commit()
    return unbound


async def _tell_if_access_changed(
    uow: UnitOfWork,
    before: Forum,
    after: Forum,
    was: Viewer,
    now_is: Viewer,
    clock: Clock,
    ids: Ids,
) -> None:
    had, has = before.admits(was), after.admits(now_is)
    if had == has or now_is.user is None:
        return
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.FORUM_ACCESS_CHANGED,
            clock.now(),
            recipient_id=now_is.user.id,
            payload={"forum_id": after.id, "access": "granted" if has else "revoked"},
        )
    )


async def get_forum(forum_id: ForumId, user_id: UserId | None, *, uow: UnitOfWork) -> Forum:
    """A forum the viewer may see."""
    async with uow:
        forum, _ = await open_forum(uow, forum_id, user_id)
    return forum


async def invite_to_forum(
    forum_id: ForumId,
    emails: list[str],
    actor_id: UserId | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
) -> None:
    """Let these people into a private forum (staff only)."""
    if actor_id is None:
        raise NotSignedIn()
    if not 1 <= len(emails) <= MAX_INVITATIONS:
        raise InvalidField("emails", f"Invite 1 to {MAX_INVITATIONS} people at a time.")
    try:
        normalised = sorted({normalise_email(e) for e in emails})
    except InvalidField as error:
        raise InvalidField("emails", error.message) from None
    async with uow:
        forum, viewer = await open_forum(uow, forum_id, actor_id)
        require_staff(viewer)
        # People with accounts who get in only now are told; the others find out on sign-up.
        people = await uow.forums.viewers_with_emails(forum, normalised)
        await uow.forums.invite(forum.id, normalised)
        for person in people:
            invited = replace(person, is_invited=True)
            await _tell_if_access_changed(uow, forum, forum, person, invited, clock, ids)
        await uow.commit()
