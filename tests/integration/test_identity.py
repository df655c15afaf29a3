"""Identity and access attacked the way a reviewer would, over HTTP, on both engines."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import sqlalchemy as sa
from litestar.middleware.csrf import generate_csrf_token

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container, build_container
from customercase.domain.ids import UserId
from customercase.domain.users import User
from customercase.entrypoints.http.app import create_asgi
from customercase.services import identity
from tests.integration.conftest import Browser
from tests.integration.seed import mark_verified
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit, unique


def _without_csrf_header(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.event_hooks["request"].clear()
    return client


async def test_a_signed_in_request_without_the_csrf_header_is_refused(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    _without_csrf_header(client)

    response = await client.post(f"/api/v1/forums/{forum['id']}/ideas", json={"summary": "Forged"})
    listed = await client.get(f"/api/v1/forums/{forum['id']}/ideas")

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 403
    assert listed.json()["items"] == []


async def test_a_csrf_header_that_does_not_match_the_cookie_is_refused(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    _without_csrf_header(client)

    response = await client.post(
        "/api/v1/vendors",
        json={"name": "Acme", "slug": unique("acme")},
        headers={"x-csrftoken": generate_csrf_token("test-secret-key-not-for-production")},
    )

    assert response.status_code == 403


async def test_a_csrf_token_signed_with_another_key_is_refused(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    _without_csrf_header(client)
    forged = generate_csrf_token("some other key")
    client.cookies.set("csrftoken", forged)

    response = await client.post(
        "/api/v1/vendors",
        json={"name": "Acme", "slug": unique("acme")},
        headers={"x-csrftoken": forged},
    )

    assert response.status_code == 403


async def test_signing_out_needs_the_csrf_header(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    _without_csrf_header(client)

    refused = await client.post("/api/v1/auth/signout")
    me = await client.get("/api/v1/me")

    assert refused.status_code == 403 and me.status_code == 200


async def test_sign_up_and_sign_in_work_without_a_token_and_hand_one_out(
    container: Container,
) -> None:
    transport = httpx.ASGITransport(app=create_asgi(container))
    email = f"{unique('fresh')}@example.org"
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as a:
        signed_up = await a.post(
            "/api/v1/auth/signup", json={"email": email, "name": "F", "password": PASSWORD}
        )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as b:
        signed_in = await b.post("/api/v1/auth/signin", json={"email": email, "password": PASSWORD})
        token = b.cookies["csrftoken"]
        vendor = await b.post(
            "/api/v1/vendors",
            json={"name": "Acme", "slug": unique("acme")},
            headers={"x-csrftoken": token},
        )

    assert signed_up.status_code == 201 and "csrftoken" in signed_up.cookies
    assert signed_in.status_code == 200
    assert vendor.status_code == 201


async def test_any_get_hands_out_the_csrf_cookie_once(container: Container) -> None:
    transport = httpx.ASGITransport(app=create_asgi(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        missing_page = await c.get("/no/such/page")
        again = await c.get("/healthz")

    assert missing_page.status_code == 404 and "csrftoken" in missing_page.cookies
    assert "set-cookie" not in again.headers


async def test_guessing_one_accounts_password_is_stopped_with_429(browser: Browser) -> None:
    owner, attacker = await browser(), await browser()
    user = await sign_up(owner)

    answers = [
        await attacker.post(
            "/api/v1/auth/signin", json={"email": user["email"], "password": f"guess {n:04}"}
        )
        for n in range(12)
    ]

    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == answers[11].status_code == 429
    assert answers[10].headers["content-type"].startswith("application/problem+json")
    assert 0 < int(answers[10].headers["retry-after"]) <= 15 * 60


async def test_the_account_limit_holds_across_addresses_and_web_processes(
    container: Container, browser: Browser
) -> None:
    owner = await browser()
    user = await sign_up(owner)
    apps = [create_asgi(container), create_asgi(container)]  # two web processes, one database
    statuses = []

    for n in range(11):
        transport = httpx.ASGITransport(app=apps[n % 2], client=(f"192.0.2.{n}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t.local") as client:
            answer = await client.post(
                "/api/v1/auth/signin", json={"email": user["email"], "password": "wrong guess"}
            )
            statuses.append(answer.status_code)

    assert statuses == [401] * 10 + [429]


async def test_one_address_trying_many_accounts_at_once_is_stopped(browser: Browser) -> None:
    attacker = await browser()

    answers = await asyncio.gather(
        *(
            attacker.post(
                "/api/v1/auth/signin",
                json={"email": f"victim{n}@example.org", "password": "Summer2026!"},
            )
            for n in range(61)
        )
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 60 + [429]


async def test_mass_sign_ups_from_one_address_are_stopped(browser: Browser) -> None:
    bot = await browser()

    statuses = [
        (
            await bot.post(
                "/api/v1/auth/signup",
                json={"email": f"{unique('bot')}@example.org", "name": "Bot", "password": PASSWORD},
            )
        ).status_code
        for _ in range(21)
    ]

    assert statuses[:20] == [201] * 20 and statuses[20] == 429


async def _link_token(container: Container, email: str, kind: str) -> str:
    """The token in the newest email of this kind queued for this address (as the mailer sees)."""
    async with container.engine().connect() as conn:
        payload = await conn.scalar(
            sa.select(t.outbox.c.payload)
            .join(t.users, t.users.c.id == t.outbox.c.recipient_id)
            .where(t.users.c.email == email.lower(), t.outbox.c.kind == kind)
            .order_by(t.outbox.c.created_at.desc())
            .limit(1)
        )
    assert payload, f"no {kind} email for {email}"
    return str(payload["token"])


async def _age(container: Container, table: sa.Table, user_id: str, **shift: timedelta) -> None:
    """Move timestamps of the user's rows in the table into the past."""
    async with container.engine().begin() as conn:
        rows = (
            (await conn.execute(sa.select(table).where(table.c.user_id == user_id)))
            .mappings()
            .all()
        )
        key = next(iter(table.primary_key.columns))
        for row in rows:
            await conn.execute(
                table.update()
                .where(key == row[key.name])
                .values({col: row[col] - delta for col, delta in shift.items()})
            )


async def test_a_reset_link_sets_the_password_and_ends_every_session(
    container: Container, browser: Browser
) -> None:
    laptop, phone, stranger = await browser(), await browser(), await browser()
    user = await sign_up(laptop)
    await phone.post("/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD})

    asked = await stranger.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    token = await _link_token(container, user["email"], "account_recovery")
    confirmed = await stranger.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "a brand new secret"},
    )
    laptop_me, phone_me = await laptop.get("/api/v1/me"), await phone.get("/api/v1/me")
    old = await stranger.post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD}
    )
    new = await stranger.post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": "a brand new secret"}
    )

    assert asked.status_code == 202 and confirmed.status_code == 204
    assert laptop_me.status_code == phone_me.status_code == 401
    assert old.status_code == 401 and new.status_code == 200


async def test_asking_for_a_reset_reveals_nothing_about_the_email(
    container: Container, browser: Browser
) -> None:
    owner, stranger = await browser(), await browser()
    user = await sign_up(owner)

    known = await stranger.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    unknown = await stranger.post(
        "/api/v1/auth/password-reset", json={"email": "nobody-here@example.org"}
    )
    malformed = await stranger.post("/api/v1/auth/password-reset", json={"email": "not an email"})

    assert known.status_code == unknown.status_code == malformed.status_code == 202
    assert known.content == unknown.content == malformed.content


async def test_a_reset_link_works_once(container: Container, browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client)
    await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    token = await _link_token(container, user["email"], "account_recovery")

    first = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "first new secret"}
    )
    again = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "the attacker's"}
    )
    signed_in = await client.post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": "first new secret"}
    )

    assert first.status_code == 204
    assert again.status_code == 400
    assert again.headers["content-type"].startswith("application/problem+json")
    assert signed_in.status_code == 200


async def test_an_expired_or_made_up_reset_link_is_refused(
    container: Container, browser: Browser
) -> None:
    client = await browser()
    user = await sign_up(client)
    await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    token = await _link_token(container, user["email"], "account_recovery")
    await _age(
        container,
        t.one_time_tokens,
        user["id"],
        created_at=timedelta(minutes=31),
        expires_at=timedelta(minutes=31),
    )

    expired = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "too late now!"}
    )
    made_up = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": "x" * 43, "password": "never existed"},
    )

    assert expired.status_code == made_up.status_code == 400
    assert expired.json() == made_up.json()


async def test_a_reset_link_with_a_weak_password_is_refused_but_not_spent(
    container: Container, browser: Browser
) -> None:
    client = await browser()
    user = await sign_up(client)
    await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    token = await _link_token(container, user["email"], "account_recovery")

    weak = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "password123"}
    )
    strong = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "much better one"}
    )

    assert weak.status_code == 422 and strong.status_code == 204


async def test_an_account_made_without_a_password_is_claimed_by_reset(
    container: Container, browser: Browser
) -> None:
    email = f"{unique('mailed')}@example.org"
    async with container.uow() as uow:
        await uow.users.add(User(UserId(uuid.uuid4().hex), email, "Mailed In", datetime.now(UTC)))
        await uow.commit()
    client = await browser()

    before = await client.post("/api/v1/auth/signin", json={"email": email, "password": ""})
    await client.post("/api/v1/auth/password-reset", json={"email": email})
    token = await _link_token(container, email, "account_recovery")
    await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "claimed at last"}
    )
    after = await client.post(
        "/api/v1/auth/signin", json={"email": email, "password": "claimed at last"}
    )

    assert before.status_code == 401 and after.status_code == 200


async def test_asking_for_resets_over_and_over_is_stopped(browser: Browser) -> None:
    client = await browser()

    statuses = [
        (
            await client.post("/api/v1/auth/password-reset", json={"email": "ann@example.org"})
        ).status_code
        for _ in range(6)
    ]

    assert statuses == [202] * 5 + [429]


async def test_a_session_token_planted_before_sign_in_is_worthless_after_it(
    browser: Browser,
) -> None:
    attacker, victim = await browser(), await browser()
    await sign_up(attacker, "Mallory M")
    victim_user = await sign_up(await browser(), "Victor V")
    planted = attacker.cookies["cc_session"]
    victim.cookies.set("cc_session", planted, domain="testserver.local")

    signed_in = await victim.post(
        "/api/v1/auth/signin", json={"email": victim_user["email"], "password": PASSWORD}
    )
    attacker_view = await attacker.get("/api/v1/me")

    assert signed_in.status_code == 200
    assert victim.cookies["cc_session"] != planted
    assert attacker_view.status_code == 401


async def test_a_stolen_session_token_dies_when_its_owner_signs_out(browser: Browser) -> None:
    owner, thief = await browser(), await browser()
    await sign_up(owner)
    thief.cookies.set("cc_session", owner.cookies["cc_session"])
    stolen_before = await thief.get("/api/v1/me")

    await owner.post("/api/v1/auth/signout")
    stolen_after = await thief.get("/api/v1/me")

    assert stolen_before.status_code == 200
    assert stolen_after.status_code == 401


async def test_a_session_left_idle_past_the_timeout_is_over(
    container: Container, browser: Browser
) -> None:
    client = await browser()
    user = await sign_up(client)

    await _age(container, t.sessions, user["id"], last_seen_at=timedelta(hours=2, seconds=1))
    response = await client.get("/api/v1/me")

    assert response.status_code == 401


async def test_a_busy_session_still_ends_at_its_absolute_lifetime(
    container: Container, browser: Browser
) -> None:
    client = await browser()
    user = await sign_up(client)

    await _age(container, t.sessions, user["id"], created_at=timedelta(hours=12, seconds=1))
    response = await client.get("/api/v1/me")

    assert response.status_code == 401


async def test_sweeping_removes_dead_sessions_and_spent_tokens(
    container: Container, browser: Browser
) -> None:
    idle, alive = await browser(), await browser()
    idle_user = await sign_up(idle)
    alive_user = await sign_up(alive)
    await _age(container, t.sessions, idle_user["id"], last_seen_at=timedelta(hours=3))
    await _age(container, t.one_time_tokens, idle_user["id"], expires_at=timedelta(days=8))

    swept = await identity.sweep_expired(
        uow=container.uow(), clock=container.clock(), policy=container.settings().session_policy
    )

    async with container.engine().connect() as conn:
        left = set((await conn.execute(sa.select(t.sessions.c.user_id))).scalars().all()) | set(
            (await conn.execute(sa.select(t.one_time_tokens.c.user_id))).scalars().all()
        )
    assert swept.sessions >= 1 and swept.tokens >= 1
    assert idle_user["id"] not in left and alive_user["id"] in left


async def test_an_unverified_user_of_an_allowed_domain_gets_in_only_after_verifying(
    container: Container, browser: Browser
) -> None:
    staff, member = await browser(), await browser()
    await sign_up(staff)
    forum = await open_forum(staff, "private", allowed_domains=["example.org"])
    idea = await submit(staff, forum["id"], "Internal roadmap")
    user = await sign_up(member)
    before_session = member.cookies["cc_session"]
    probes = [f"/api/v1/forums/{forum['id']}", f"/api/v1/ideas/{idea['id']}"]

    before = [(await member.get(p)).status_code for p in probes]
    token = await _link_token(container, user["email"], "email_verification")
    verified = await member.post("/api/v1/auth/verify-email", json={"token": token})
    after = [(await member.get(p)).status_code for p in probes]
    again = await member.post("/api/v1/auth/verify-email", json={"token": token})

    assert before == [404, 404]
    assert verified.status_code == 204 and after == [200, 200]
    assert member.cookies["cc_session"] != before_session
    assert again.status_code == 400


async def test_a_verification_link_opened_in_another_browser_still_verifies(
    container: Container, browser: Browser
) -> None:
    owner, elsewhere = await browser(), await browser()
    user = await sign_up(owner)
    session = owner.cookies["cc_session"]
    token = await _link_token(container, user["email"], "email_verification")

    verified = await elsewhere.post("/api/v1/auth/verify-email", json={"token": token})
    owner_me = await owner.get("/api/v1/me")

    assert verified.status_code == 204 and "cc_session" not in elsewhere.cookies
    assert owner_me.status_code == 200 and owner.cookies["cc_session"] == session


async def test_a_private_forum_stays_hidden_from_other_domains_even_verified(
    container: Container, browser: Browser
) -> None:
    staff, outsider = await browser(), await browser()
    await sign_up(staff)
    forum = await open_forum(staff, "private", allowed_domains=["acme.test"])
    idea = await submit(staff, forum["id"], "For Acme eyes only")
    user = await sign_up(outsider)
    token = await _link_token(container, user["email"], "email_verification")
    await outsider.post("/api/v1/auth/verify-email", json={"token": token})

    probes = [
        (await outsider.get(p)).status_code
        for p in (
            f"/api/v1/forums/{forum['id']}",
            f"/api/v1/forums/{forum['id']}/ideas",
            f"/api/v1/ideas/{idea['id']}",
            f"/api/v1/ideas/{idea['id']}/comments",
        )
    ]
    vote = await outsider.put(f"/api/v1/ideas/{idea['id']}/vote")
    comment = await outsider.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "hi"})

    assert probes == [404, 404, 404, 404]
    assert vote.status_code == comment.status_code == 404


async def test_becoming_staff_rotates_the_session_token(browser: Browser) -> None:
    client, thief = await browser(), await browser()
    await sign_up(client)
    before = client.cookies["cc_session"]
    thief.cookies.set("cc_session", before)

    created = await client.post("/api/v1/vendors", json={"name": "Acme", "slug": unique("acme")})
    mine = await client.get("/api/v1/me")
    stale = await thief.get("/api/v1/me")

    assert created.status_code == 201 and client.cookies["cc_session"] != before
    assert mine.status_code == 200 and stale.status_code == 401


async def test_the_export_holds_all_my_data_and_nothing_of_anyone_else(browser: Browser) -> None:
    me, other = await browser(), await browser()
    staff = await browser()
    await sign_up(staff)
    forum = await open_forum(staff)
    user = await sign_up(me, "Exporting Ann")
    other_user = await sign_up(other, "Other Olga")
    mine = await submit(me, forum["id"], "My own idea")
    theirs = await submit(other, forum["id"], "Their idea")
    await me.post(f"/api/v1/ideas/{theirs['id']}/comments", json={"body": "my comment"})
    await other.post(f"/api/v1/ideas/{mine['id']}/comments", json={"body": "their comment"})
    await me.put(f"/api/v1/ideas/{theirs['id']}/vote")

    response = await me.get("/api/v1/me/export")
    data = response.json()

    assert response.status_code == 200
    assert data["account"]["email"] == user["email"] and data["account"]["name"] == "Exporting Ann"
    assert [i["summary"] for i in data["ideas"]] == ["My own idea"]
    assert [c["body"] for c in data["comments"]] == ["my comment"]
    assert {v["idea_id"] for v in data["votes"]} == {mine["id"], theirs["id"]}
    assert {w["idea_id"] for w in data["watches"]} == {mine["id"], theirs["id"]}
    assert other_user["email"] not in response.text and "their comment" not in response.text


async def test_exporting_or_deleting_needs_a_signed_in_user(browser: Browser) -> None:
    anonymous = await browser()

    export = await anonymous.get("/api/v1/me/export")
    erase = await anonymous.delete("/api/v1/me")

    assert export.status_code == erase.status_code == 401


async def test_a_deleted_account_leaves_its_posts_to_deleted_user(browser: Browser) -> None:
    leaver, reader, staff = await browser(), await browser(), await browser()
    await sign_up(staff)
    forum = await open_forum(staff)
    user = await sign_up(leaver, "Leaving Lee")
    idea = await submit(leaver, forum["id"], "An idea that stays")
    await leaver.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "a comment that stays"})
    session = leaver.cookies["cc_session"]

    erased = await leaver.delete("/api/v1/me")
    shown = (await reader.get(f"/api/v1/ideas/{idea['id']}")).json()
    comments = (await reader.get(f"/api/v1/ideas/{idea['id']}/comments")).json()["items"]
    reader.cookies.set("cc_session", session)
    with_old_session = await reader.get("/api/v1/me")
    old_sign_in = await (await browser()).post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD}
    )

    assert erased.status_code == 204
    assert shown["summary"] == "An idea that stays" and shown["author"]["name"] == "deleted user"
    assert [(c["body"], c["author"]["name"]) for c in comments] == [
        ("a comment that stays", "deleted user")
    ]
    assert with_old_session.status_code == 401 and old_sign_in.status_code == 401


async def test_the_only_admin_of_a_vendor_cannot_delete_the_account(browser: Browser) -> None:
    admin = await browser()
    await sign_up(admin)
    await open_forum(admin)

    refused = await admin.delete("/api/v1/me")
    still = await admin.get("/api/v1/me")

    assert refused.status_code == 409 and still.status_code == 200


async def _access_emails(container: Container, user_id: str) -> list[str]:
    async with container.engine().connect() as conn:
        payloads = (
            await conn.scalars(
                sa.select(t.outbox.c.payload)
                .where(
                    t.outbox.c.recipient_id == user_id,
                    t.outbox.c.kind == "forum_access_changed",
                )
                .order_by(t.outbox.c.created_at)
            )
        ).all()
    return [p["access"] for p in payloads]


async def _sign_up_at(client: httpx.AsyncClient, domain: str) -> dict[str, str]:
    email = f"{unique('d')}@{domain}"
    response = await client.post(
        "/api/v1/auth/signup", json={"email": email, "name": "Dee", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {**response.json(), "email": email}


async def test_people_who_lose_or_keep_access_when_a_forum_closes_are_told_so(
    container: Container, browser: Browser
) -> None:
    staff, outsider, insider = await browser(), await browser(), await browser()
    await sign_up(staff)
    forum = await open_forum(staff)
    idea = await submit(staff, forum["id"], "Public for now")
    out_user = await _sign_up_at(outsider, "elsewhere.test")
    in_user = await _sign_up_at(insider, "acme.test")
    token = await _link_token(container, in_user["email"], "email_verification")
    await insider.post("/api/v1/auth/verify-email", json={"token": token})
    await outsider.put(f"/api/v1/ideas/{idea['id']}/vote")
    await insider.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "count me in"})

    closed = await staff.patch(
        f"/api/v1/forums/{forum['id']}",
        json={"visibility": "private", "allowed_domains": ["acme.test"]},
    )
    renamed = await staff.patch(f"/api/v1/forums/{forum['id']}", json={"name": "Renamed"})
    narrowed = await staff.patch(f"/api/v1/forums/{forum['id']}", json={"allowed_domains": []})

    assert closed.status_code == renamed.status_code == narrowed.status_code == 200
    assert await _access_emails(container, out_user["id"]) == ["revoked"]
    assert await _access_emails(container, in_user["id"]) == ["revoked"]


async def test_an_invited_user_with_an_account_is_told_once(
    container: Container, browser: Browser
) -> None:
    staff, guest = await browser(), await browser()
    await sign_up(staff)
    guest_user = await sign_up(guest)
    await mark_verified(container, guest_user["id"])
    forum = await open_forum(staff, "private")
    idea = await submit(staff, forum["id"], "Invite-only idea")

    before = (await guest.get(f"/api/v1/ideas/{idea['id']}")).status_code
    for _ in range(2):
        await staff.post(
            f"/api/v1/forums/{forum['id']}/invitations",
            json={"emails": [guest_user["email"], "no-account-yet@example.org"]},
        )
    after = (await guest.get(f"/api/v1/ideas/{idea['id']}")).status_code
    comment = await guest.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "thanks"})

    assert before == 404 and after == 200 and comment.status_code == 201
    assert await _access_emails(container, guest_user["id"]) == ["granted"]


async def test_signing_in_after_the_parameters_were_raised_rehashes_the_password(
    container: Container, browser: Browser
) -> None:
    client = await browser()
    user = await sign_up(client)
    stronger = build_container(
        msgspec.structs.replace(container.settings(), argon2_memory_kib=2048)
    )
    transport = httpx.ASGITransport(app=create_asgi(stronger), client=("192.0.2.77", 1))

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        answer = await c.post(
            "/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD}
        )
    await stronger.engine().dispose()
    async with container.engine().connect() as conn:
        stored = await conn.scalar(
            sa.select(t.users.c.password_hash).where(t.users.c.id == user["id"])
        )

    assert answer.status_code == 200
    assert stored is not None and "m=2048" in stored


async def test_no_identity_answer_holds_another_users_email(
    container: Container, browser: Browser
) -> None:
    people = [await browser() for _ in range(3)]
    users = [await sign_up(p, n) for p, n in zip(people, ["Ann A", "Ben B", "Cat C"], strict=True)]
    forum = await open_forum(people[0], "private", allowed_domains=["example.org"])
    await people[0].post(
        f"/api/v1/forums/{forum['id']}/invitations", json={"emails": [u["email"] for u in users]}
    )
    for user in users[1:]:
        await mark_verified(container, user["id"])
    idea = await submit(people[1], forum["id"], "Shared idea")
    bodies: list[tuple[int, str]] = []

    for n, (person, user) in enumerate(zip(people, users, strict=True)):
        await person.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "me too"})
        await person.put(f"/api/v1/ideas/{idea['id']}/watch")
        token = await _link_token(container, user["email"], "email_verification")
        for answer in [
            await person.post("/api/v1/auth/verify-email", json={"token": token}),
            await person.post("/api/v1/auth/password-reset", json={"email": user["email"]}),
            await person.post(
                "/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD}
            ),
            await person.get("/api/v1/me"),
            await person.get("/api/v1/me/export"),
            await person.get(f"/api/v1/forums/{forum['id']}"),
            await person.get(f"/api/v1/ideas/{idea['id']}"),
            await person.get(f"/api/v1/ideas/{idea['id']}/comments"),
            await person.get(f"/api/v1/forums/{forum['id']}/ideas"),
        ]:
            bodies.append((n, answer.text + str(answer.headers)))

    for viewer, body in bodies:
        for owner, user in enumerate(users):
            assert owner == viewer or user["email"] not in body
