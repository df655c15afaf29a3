"""Vendors, their forums and invitations."""

from __future__ import annotations

from litestar import Controller, get, patch, post

from customercase.domain.errors import NotSignedIn
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.ports import Clock, Ids, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import JiraBinding, Visibility
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.schemas import (
    Forum,
    ForumCreate,
    ForumUpdate,
    Invitations,
    Presenter,
    Vendor,
    VendorCreate,
)
from customercase.services import vendors


def _signed_in(user: DomainUser | None) -> DomainUser:
    if user is None:
        raise NotSignedIn()
    return user


class VendorController(Controller):
    path = "/api/v1/vendors"
    tags = ["vendors"]

    @post("/", status_code=201)
    async def create_vendor(
        self,
        data: VendorCreate,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Vendor:
        """Open a vendor account; the caller becomes its admin."""
        cmd = vendors.CreateVendor(data.name, data.slug, _signed_in(user).id)
        return present.vendor(await vendors.create_vendor(cmd, uow=uow, clock=clock, ids=ids))

    @get("/{vendor_id:str}")
    async def get_vendor(
        self, vendor_id: str, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Vendor:
        """A vendor, with the caller's role there."""
        view = await vendors.get_vendor(VendorId(vendor_id), user.id if user else None, uow=uow)
        return present.vendor(view)

    @post("/{vendor_id:str}/forums", status_code=201)
    async def create_forum(
        self,
        vendor_id: str,
        data: ForumCreate,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Forum:
        """Open a forum (staff only)."""
        jira = JiraBinding(data.jira.project_key, data.jira.issue_type) if data.jira else None
        cmd = vendors.CreateForum(
            VendorId(vendor_id),
            data.name,
            data.slug,
            Visibility(data.visibility),
            _signed_in(user).id,
            tuple(data.allowed_domains),
            jira,
            data.holds_first_posts,
        )
        return present.forum(await vendors.create_forum(cmd, uow=uow, clock=clock, ids=ids))


class ForumController(Controller):
    path = "/api/v1/forums/{forum_id:str}"
    tags = ["forums"]

    @get("/")
    async def get_forum(
        self, forum_id: str, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Forum:
        """A forum the caller may see."""
        forum = await vendors.get_forum(ForumId(forum_id), user.id if user else None, uow=uow)
        return present.forum(forum)

    @patch("/")
    async def update_forum(
        self,
        forum_id: str,
        data: ForumUpdate,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
    ) -> Forum:
        """Change a forum's settings (staff only)."""
        cmd = vendors.UpdateForum(
            ForumId(forum_id),
            _signed_in(user).id,
            data.name,
            data.slug,
            Visibility(data.visibility) if data.visibility else None,
            tuple(data.allowed_domains) if data.allowed_domains is not None else None,
            data.holds_first_posts,
        )
        return present.forum(await vendors.update_forum(cmd, uow=uow))

    @post("/invitations", status_code=204)
    async def invite(
        self, forum_id: str, data: Invitations, user: DomainUser | None, uow: Injected[UnitOfWork]
    ) -> None:
        """Let these emails into the forum (staff only)."""
        await vendors.invite_to_forum(
            ForumId(forum_id), data.emails, user.id if user else None, uow=uow
        )
