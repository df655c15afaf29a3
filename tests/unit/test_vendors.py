"""Vendors, their forums, and who may see and run them, against the fakes."""

from __future__ import annotations

import pytest

from customercase.adapters.local.lists import LocalListCache
from customercase.domain.errors import (
    ForumNotFound,
    InvalidField,
    NotAllowed,
    NotSignedIn,
    SlugTaken,
    VendorNotFound,
)
from customercase.domain.ids import ForumId, UserId, VendorId
from customercase.domain.notifications import NotificationKind
from customercase.domain.vendors import Forum, Role, Visibility
from customercase.services.vendors import (
    CreateForum,
    CreateVendor,
    UpdateForum,
    create_forum,
    create_vendor,
    get_forum,
    get_vendor,
    invite_to_forum,
    update_forum,
)
from tests.builders import World


@pytest.fixture
def world() -> World:
    return World()


async def forum_by(
    world: World,
    vendor_id: VendorId,
    actor_id: UserId | None,
    slug: str = "ideas",
    visibility: Visibility = Visibility.PUBLIC,
) -> Forum:
    cmd = CreateForum(vendor_id, "Ideas", slug, visibility, actor_id)  # type: ignore[arg-type]
    return await create_forum(cmd, uow=world.uow, clock=world.clock, ids=world.ids)


async def private_forum(world: World) -> Forum:
    return await world.forum(visibility=Visibility.PRIVATE, allowed_domains=("acme.com",))


async def test_creator_of_a_vendor_is_its_admin(world: World) -> None:
    creator = await world.user()
    created = await create_vendor(
        CreateVendor("Acme", "acme", creator.id), uow=world.uow, clock=world.clock, ids=world.ids
    )

    seen = await get_vendor(created.vendor.id, creator.id, uow=world.uow)

    assert seen.my_role is Role.ADMIN


async def test_vendor_shows_no_role_to_anyone_else(world: World) -> None:
    creator, other = await world.user(), await world.user()
    created = await create_vendor(
        CreateVendor("Acme", "acme", creator.id), uow=world.uow, clock=world.clock, ids=world.ids
    )

    seen = await get_vendor(created.vendor.id, other.id, uow=world.uow)

    assert seen.my_role is None


async def test_vendor_slug_in_use_is_slug_taken(world: World) -> None:
    creator = await world.user()
    await create_vendor(
        CreateVendor("Acme", "acme", creator.id), uow=world.uow, clock=world.clock, ids=world.ids
    )

    with pytest.raises(SlugTaken):
        await create_vendor(
            CreateVendor("Acme again", "acme", creator.id),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
        )


async def test_malformed_vendor_slug_names_the_slug(world: World) -> None:
    creator = await world.user()

    with pytest.raises(InvalidField) as error:
        await create_vendor(
            CreateVendor("Acme", "Acme Inc", creator.id),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
        )

    assert error.value.field == "slug"


async def test_unknown_vendor_is_vendor_not_found(world: World) -> None:
    with pytest.raises(VendorNotFound):
        await get_vendor(VendorId("nowhere"), None, uow=world.uow)


async def test_staff_can_open_a_forum(world: World) -> None:
    forum = await world.forum()
    agent = await world.staff(forum.vendor_id, Role.AGENT)

    opened = await forum_by(world, forum.vendor_id, agent.id, slug="more-ideas")

    assert world.store.tables.forums[opened.id] == opened


async def test_customer_cannot_open_a_forum(world: World) -> None:
    forum = await world.forum()
    customer = await world.user()

    with pytest.raises(NotAllowed):
        await forum_by(world, forum.vendor_id, customer.id, slug="more-ideas")


async def test_anonymous_cannot_open_a_forum(world: World) -> None:
    forum = await world.forum()

    with pytest.raises(NotSignedIn):
        await forum_by(world, forum.vendor_id, None, slug="more-ideas")


async def test_forum_of_an_unknown_vendor_is_vendor_not_found(world: World) -> None:
    user = await world.user()

    with pytest.raises(VendorNotFound):
        await forum_by(world, VendorId("nowhere"), user.id)


async def test_forum_slug_in_use_at_the_vendor_is_slug_taken(world: World) -> None:
    forum = await world.forum(slug="ideas")
    admin = await world.staff(forum.vendor_id)

    with pytest.raises(SlugTaken):
        await forum_by(world, forum.vendor_id, admin.id, slug="ideas")


async def test_forum_slug_in_use_at_another_vendor_is_free(world: World) -> None:
    await world.forum(slug="ideas")
    mine = await world.forum(slug="other")
    admin = await world.staff(mine.vendor_id)

    opened = await forum_by(world, mine.vendor_id, admin.id, slug="ideas")

    assert opened.slug == "ideas"


async def test_staff_can_rename_a_forum_and_make_it_private(world: World) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)

    await update_forum(
        UpdateForum(forum.id, admin.id, name="Roadmap", visibility=Visibility.PRIVATE),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        cache=LocalListCache(0),
    )

    stored = world.store.tables.forums[forum.id]
    assert (stored.name, stored.visibility) == ("Roadmap", Visibility.PRIVATE)


async def test_customer_cannot_change_a_forum(world: World) -> None:
    forum = await world.forum()
    customer = await world.user()

    with pytest.raises(NotAllowed):
        await update_forum(
            UpdateForum(forum.id, customer.id, name="Mine now"),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
            cache=LocalListCache(0),
        )


async def test_anonymous_cannot_change_a_forum(world: World) -> None:
    forum = await world.forum()

    with pytest.raises(NotSignedIn):
        await update_forum(
            UpdateForum(forum.id, None, name="Mine now"),  # type: ignore[arg-type]
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
            cache=LocalListCache(0),
        )


async def test_moving_a_forum_to_a_slug_in_use_at_the_vendor_is_slug_taken(world: World) -> None:
    forum = await world.forum(slug="ideas")
    other = await world.forum(vendor_id=forum.vendor_id, slug="bugs")
    admin = await world.staff(forum.vendor_id)

    with pytest.raises(SlugTaken):
        await update_forum(
            UpdateForum(other.id, admin.id, slug="ideas"),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
            cache=LocalListCache(0),
        )


async def test_forum_change_with_a_malformed_domain_names_the_field(world: World) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)

    with pytest.raises(InvalidField) as error:
        await update_forum(
            UpdateForum(forum.id, admin.id, allowed_domains=("not a domain",)),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
            cache=LocalListCache(0),
        )

    assert error.value.field == "allowed_domains"


async def test_public_forum_is_visible_to_anonymous_viewers(world: World) -> None:
    forum = await world.forum(visibility=Visibility.PUBLIC)

    seen = await get_forum(forum.id, None, uow=world.uow)

    assert seen == forum


async def test_unknown_forum_is_forum_not_found(world: World) -> None:
    with pytest.raises(ForumNotFound):
        await get_forum(ForumId("nowhere"), None, uow=world.uow)


async def test_private_forum_is_not_found_by_anonymous_viewers(world: World) -> None:
    forum = await private_forum(world)

    with pytest.raises(ForumNotFound):
        await get_forum(forum.id, None, uow=world.uow)


async def test_private_forum_is_not_found_by_outsiders(world: World) -> None:
    forum = await private_forum(world)
    outsider = await world.user(email="eve@elsewhere.org", email_verified=True)

    with pytest.raises(ForumNotFound):
        await get_forum(forum.id, outsider.id, uow=world.uow)


async def test_private_forum_is_not_found_by_unverified_users_of_an_allowed_domain(
    world: World,
) -> None:
    forum = await private_forum(world)
    unverified = await world.user(email="ada@acme.com", email_verified=False)

    with pytest.raises(ForumNotFound):
        await get_forum(forum.id, unverified.id, uow=world.uow)


async def test_private_forum_is_visible_to_verified_users_of_an_allowed_domain(
    world: World,
) -> None:
    forum = await private_forum(world)
    verified = await world.user(email="ada@acme.com", email_verified=True)

    seen = await get_forum(forum.id, verified.id, uow=world.uow)

    assert seen == forum


async def test_private_forum_is_visible_to_its_vendors_staff(world: World) -> None:
    forum = await private_forum(world)
    agent = await world.staff(forum.vendor_id, Role.AGENT, email="agent@vendor.example")

    seen = await get_forum(forum.id, agent.id, uow=world.uow)

    assert seen == forum


async def test_private_forum_is_not_found_by_another_vendors_staff(world: World) -> None:
    forum = await private_forum(world)
    elsewhere = await world.forum()
    admin = await world.staff(elsewhere.vendor_id)

    with pytest.raises(ForumNotFound):
        await get_forum(forum.id, admin.id, uow=world.uow)


async def test_private_forum_is_visible_to_invited_emails(world: World) -> None:
    forum = await private_forum(world)
    admin = await world.staff(forum.vendor_id)
    guest = await world.user(email="guest@elsewhere.org", email_verified=True)

    await invite_to_forum(
        forum.id,
        ["  Guest@Elsewhere.org"],
        admin.id,
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
    )

    assert await get_forum(forum.id, guest.id, uow=world.uow) == forum


async def test_inviting_the_same_email_twice_is_no_error(world: World) -> None:
    forum = await private_forum(world)
    admin = await world.staff(forum.vendor_id)

    await invite_to_forum(
        forum.id,
        ["guest@elsewhere.org", "GUEST@elsewhere.org"],
        admin.id,
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
    )
    await invite_to_forum(
        forum.id, ["guest@elsewhere.org"], admin.id, uow=world.uow, clock=world.clock, ids=world.ids
    )

    assert world.store.tables.invitations == {(forum.id, "guest@elsewhere.org")}


async def test_customer_cannot_invite_to_a_forum(world: World) -> None:
    forum = await world.forum()
    customer = await world.user()

    with pytest.raises(NotAllowed):
        await invite_to_forum(
            forum.id,
            ["guest@elsewhere.org"],
            customer.id,
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
        )


async def test_anonymous_cannot_invite_to_a_forum(world: World) -> None:
    forum = await world.forum()

    with pytest.raises(NotSignedIn):
        await invite_to_forum(
            forum.id, ["guest@elsewhere.org"], None, uow=world.uow, clock=world.clock, ids=world.ids
        )


async def test_inviting_nobody_names_the_emails(world: World) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)

    with pytest.raises(InvalidField) as error:
        await invite_to_forum(
            forum.id, [], admin.id, uow=world.uow, clock=world.clock, ids=world.ids
        )

    assert error.value.field == "emails"


async def test_inviting_a_malformed_email_names_the_emails_field(world: World) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)

    with pytest.raises(InvalidField) as error:
        await invite_to_forum(
            forum.id,
            ["guest.example.org"],
            admin.id,
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
        )

    assert error.value.field == "emails"


def _access_notices(world: World) -> list[tuple[UserId | None, str]]:
    return [
        (n.recipient_id, n.payload["access"])
        for n in world.store.tables.outbox.values()
        if n.kind is NotificationKind.FORUM_ACCESS_CHANGED
    ]


async def _made_private(world: World, forum: Forum, admin: UserId, **changes: object) -> None:
    await update_forum(
        UpdateForum(forum.id, admin, visibility=Visibility.PRIVATE, **changes),  # type: ignore[arg-type]
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        cache=LocalListCache(0),
    )


async def test_making_a_forum_private_tells_those_who_posted_or_voted_there_they_lost_access(
    world: World,
) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)
    author, voter = await world.user(), await world.user()
    idea = await world.idea(forum, author)
    async with world.uow as uow:
        await uow.votes.add(idea.id, voter.id, world.clock.now())
        await uow.commit()

    await _made_private(world, forum, admin.id)

    assert sorted(_access_notices(world)) == sorted([(author.id, "revoked"), (voter.id, "revoked")])


async def test_making_a_forum_private_tells_nobody_without_a_trace_in_it(world: World) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)
    await world.user()

    await _made_private(world, forum, admin.id)

    assert _access_notices(world) == []


async def test_making_a_forum_private_leaves_its_staff_and_verified_invitees_untold(
    world: World,
) -> None:
    forum = await world.forum()
    admin = await world.staff(forum.vendor_id)
    guest = await world.user(email="guest@elsewhere.org", email_verified=True)
    await world.invite(forum, guest.email)
    await world.idea(forum, admin)

    await _made_private(world, forum, admin.id)

    assert _access_notices(world) == []


async def test_a_verified_person_invited_to_a_private_forum_is_told_they_got_access(
    world: World,
) -> None:
    forum = await world.forum(visibility=Visibility.PRIVATE)
    admin = await world.staff(forum.vendor_id)
    guest = await world.user(email="guest@elsewhere.org", email_verified=True)

    await invite_to_forum(
        forum.id, [guest.email], admin.id, uow=world.uow, clock=world.clock, ids=world.ids
    )

    assert _access_notices(world) == [(guest.id, "granted")]


async def test_an_unverified_person_invited_is_not_told_until_they_prove_their_email(
    world: World,
) -> None:
    forum = await world.forum(visibility=Visibility.PRIVATE)
    admin = await world.staff(forum.vendor_id)
    guest = await world.user(email="guest@elsewhere.org", email_verified=False)

    await invite_to_forum(
        forum.id, [guest.email], admin.id, uow=world.uow, clock=world.clock, ids=world.ids
    )

    assert _access_notices(world) == []
