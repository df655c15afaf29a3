"""Vendors, their forums and invitations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put

from customercase.domain.errors import NotSignedIn
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.ports import (
    Clock,
    Ids,
    IssueTrackers,
    ListCache,
    SecretBox,
    SessionCache,
    UnitOfWork,
)
from customercase.domain.tracker import StatusMap
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import JiraBinding, Visibility
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.identity import SESSION_COOKIE, session_cookie
from customercase.entrypoints.http.schemas import (
    Forum,
    ForumCreate,
    ForumUpdate,
    Invitations,
    JiraConnect,
    JiraConnection,
    Presenter,
    Vendor,
    VendorCreate,
    VendorDeletion,
)
from customercase.entrypoints.http.schemas import (
    JiraBinding as JiraBindingBody,
)
from customercase.services import identity, tracker, vendors
from customercase.services import retention as vendors_retention
from customercase.services.retention import RetentionPolicy


def _binding(body: JiraBindingBody | None) -> JiraBinding | None:
    if body is None:
        return None
    status_map = StatusMap.from_json(
        {
            "categories": {str(k): str(v) for k, v in (body.status_categories or {}).items()},
            "names": {k: str(v) for k, v in (body.status_names or {}).items()},
        }
    )
    return JiraBinding(body.project_key, body.issue_type, status_map)


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
        request: Request[Any, Any, Any],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        session_cache: Injected[SessionCache],
        present: Presenter,
        secure_cookies: bool,
    ) -> Response[Vendor]:
        """Open a vendor account; the caller becomes its admin (and gets a new session token)."""
        cmd = vendors.CreateVendor(data.name, data.slug, _signed_in(user).id)
        view = await vendors.create_vendor(cmd, uow=uow, clock=clock, ids=ids)
        # Becoming staff is a change of privilege: the session token is rotated (issue 3).
        token = request.cookies.get(SESSION_COOKIE, "")
        rotated = await identity.rotate_session(
            token, uow=uow, clock=clock, ids=ids, session_cache=session_cache
        )
        cookies = [session_cookie(rotated, secure=secure_cookies)] if rotated else []
        return Response(present.vendor(view), status_code=201, cookies=cookies)

    @get("/{vendor_id:str}")
    async def get_vendor(
        self, vendor_id: str, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Vendor:
        """A vendor, with the caller's role there."""
        view = await vendors.get_vendor(VendorId(vendor_id), user.id if user else None, uow=uow)
        return present.vendor(view)

    @delete("/{vendor_id:str}", status_code=202)
    async def delete_vendor(
        self,
        vendor_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        retention: Injected[RetentionPolicy],
    ) -> Response[VendorDeletion]:
        """Delete the vendor (admins only): its forums, ideas and pages are gone for everyone at
        once; its data is purged after the retention period, until when it can be restored."""
        done = await vendors_retention.delete_vendor(
            VendorId(vendor_id),
            user.id if user else None,
            uow=uow,
            clock=clock,
            policy=retention,
            cache=lists,
        )
        body = VendorDeletion(done.vendor_id, done.deleted_at, done.purge_after)
        return Response(body, status_code=202)

    @post("/{vendor_id:str}/restore", status_code=200)
    async def restore_vendor(
        self,
        vendor_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        retention: Injected[RetentionPolicy],
        present: Presenter,
    ) -> Vendor:
        """Undo the vendor's deletion within the retention period (its admins only)."""
        actor = _signed_in(user).id
        await vendors_retention.restore_vendor(
            VendorId(vendor_id), actor, uow=uow, clock=clock, policy=retention
        )
        return present.vendor(await vendors.get_vendor(VendorId(vendor_id), actor, uow=uow))

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
        jira = _binding(data.jira)
        cmd = vendors.CreateForum(
            VendorId(vendor_id),
            data.name,
            data.slug,
            Visibility(data.visibility),
            _signed_in(user).id,
            tuple(data.allowed_domains),
            jira,
            data.holds_first_posts,
            data.search_language,
        )
        return present.forum(await vendors.create_forum(cmd, uow=uow, clock=clock, ids=ids))

    @put("/{vendor_id:str}/jira")
    async def connect_jira(
        self,
        vendor_id: str,
        data: JiraConnect,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        trackers: Injected[IssueTrackers],
        secrets: Injected[SecretBox],
        clock: Injected[Clock],
    ) -> JiraConnection:
        """Connect the vendor's Jira site (staff only); the token is checked, sealed, not shown."""
        cmd = tracker.ConnectJira(
            VendorId(vendor_id), _signed_in(user).id, data.site_url, data.email, data.api_token
        )
        done = await tracker.connect_jira(
            cmd, uow=uow, trackers=trackers, secrets=secrets, clock=clock
        )
        return JiraConnection(done.site_url, done.email, connected=True)


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
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
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
            _binding(data.jira),
            data.holds_first_posts,
            data.search_language,
        )
        return present.forum(
            await vendors.update_forum(cmd, uow=uow, clock=clock, ids=ids, cache=lists)
        )

    @post("/invitations", status_code=204)
    async def invite(
        self,
        forum_id: str,
        data: Invitations,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
    ) -> None:
        """Let these emails into the forum (staff only)."""
        await vendors.invite_to_forum(
            ForumId(forum_id), data.emails, user.id if user else None, uow=uow, clock=clock, ids=ids
        )
