"""The JSON API walked end to end, on SQLite and on PostgreSQL (API.md)."""

from __future__ import annotations

import pytest

from customercase.bootstrap import Container
from tests.integration.conftest import Browser
from tests.integration.seed import mark_verified
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit, unique


async def test_a_new_user_walks_the_forum_as_the_contract_says(browser: Browser) -> None:
    ada, bob = await browser(), await browser()
    await sign_up(ada, "Ada Lovelace")
    bob_user = await sign_up(bob, "Bob Babbage")
    forum = await open_forum(ada)

    idea = await submit(bob, forum["id"], "Dark mode for the dashboard")
    first = await ada.put(f"/api/v1/ideas/{idea['id']}/vote")
    second = await ada.put(f"/api/v1/ideas/{idea['id']}/vote")
    unvoted = await bob.delete(f"/api/v1/ideas/{idea['id']}/vote")
    comment = await ada.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Yes!"})
    watched = await ada.put(f"/api/v1/ideas/{idea['id']}/watch")
    listed = await bob.get(f"/api/v1/forums/{forum['id']}/ideas", params={"sort": "top"})
    filtered = await bob.get(f"/api/v1/forums/{forum['id']}/ideas", params={"status": "done"})
    searched = await bob.get(f"/api/v1/forums/{forum['id']}/ideas", params={"q": "dark"})
    me = await ada.get("/api/v1/me")
    signed_out = await ada.post("/api/v1/auth/signout")
    after = await ada.get("/api/v1/me")

    assert idea["votes"] == 1 and idea["voted_by_me"] and idea["watching"]
    assert idea["author"] == {k: bob_user[k] for k in ("id", "name", "avatar_url")}
    assert first.json()["votes"] == 2 and second.json()["votes"] == 2
    assert unvoted.status_code == 200 and unvoted.json()["votes"] == 1
    assert not unvoted.json()["voted_by_me"]
    assert comment.status_code == 201 and comment.json()["body"] == "Yes!"
    assert watched.status_code == 204
    assert [i["id"] for i in listed.json()["items"]] == [idea["id"]]
    assert listed.json()["items"][0]["comments"] == 1
    assert filtered.json() == {"items": [], "next_cursor": None}
    assert [i["id"] for i in searched.json()["items"]] == [idea["id"]]
    assert [w["id"] for w in me.json()["watching"]] == [idea["id"]]
    assert signed_out.status_code == 204
    assert after.status_code == 401


async def test_the_session_cookie_is_http_only_lax_and_never_persistent(browser: Browser) -> None:
    client = await browser()
    email = f"{unique('c')}@example.org"

    response = await client.post(
        "/api/v1/auth/signup", json={"email": email, "name": "C", "password": PASSWORD}
    )

    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "max-age" not in cookie and "expires" not in cookie


async def test_signing_in_again_replaces_the_old_session(browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client)
    old = client.cookies["cc_session"]

    response = await client.post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD}
    )
    new = client.cookies["cc_session"]
    client.cookies.set("cc_session", old)
    with_old = await client.get("/api/v1/me")

    assert response.status_code == 200 and new != old
    assert with_old.status_code == 401


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client)

    wrong = await client.post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/signin", json={"email": "nobody@example.org", "password": PASSWORD}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_signing_up_with_a_taken_email_is_a_conflict(browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client)

    again = await client.post(
        "/api/v1/auth/signup",
        json={"email": user["email"].upper(), "name": "X", "password": PASSWORD},
    )

    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "characters"), ("x" * 1025, "characters"), ("password123", "common")],
)
async def test_a_weak_password_is_refused_naming_the_field(
    browser: Browser, password: str, reason: str
) -> None:
    client = await browser()

    response = await client.post(
        "/api/v1/auth/signup",
        json={"email": f"{unique('w')}@example.org", "name": "W", "password": password},
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "password"
    assert reason in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b"\xff\xfe", b'"just a string"'])
async def test_a_malformed_body_is_a_400_problem(browser: Browser, body: bytes) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)

    response = await client.post(
        f"/api/v1/forums/{forum['id']}/ideas",
        content=body,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    problem = response.json()
    assert set(problem) >= {"type", "title", "status", "detail"} and problem["status"] == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"summary": "no"}, "summary"),
        ({"summary": 5}, "summary"),
        ({}, "summary"),
        ({"summary": "ok idea", "description": 3}, "description"),
    ],
)
async def test_an_invalid_idea_is_a_422_naming_the_field(
    browser: Browser, body: object, field: str
) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)

    response = await client.post(f"/api/v1/forums/{forum['id']}/ideas", json=body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"sort": "best"}, "sort"),
        ({"status": "closed"}, "status"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
async def test_a_bad_list_query_is_a_422_naming_the_parameter(
    browser: Browser, params: dict, field: str
) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)

    response = await client.get(f"/api/v1/forums/{forum['id']}/ideas", params=params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_pages_of_a_walk_hold_every_idea_once(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    posted = {(await submit(client, forum["id"], f"Idea number {n}"))["id"] for n in range(23)}

    for sort in ("top", "new", "trending"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 10, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(f"/api/v1/forums/{forum['id']}/ideas", params=params)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert sorted(seen) == sorted(posted), sort


async def test_top_puts_the_most_voted_idea_first_and_new_the_newest(browser: Browser) -> None:
    ada, bob = await browser(), await browser()
    await sign_up(ada)
    await sign_up(bob)
    forum = await open_forum(ada)
    old = await submit(ada, forum["id"], "Older but popular")
    new = await submit(ada, forum["id"], "Newer and quiet")
    await bob.put(f"/api/v1/ideas/{old['id']}/vote")

    top = (await ada.get(f"/api/v1/forums/{forum['id']}/ideas?sort=top")).json()["items"]
    newest = (await ada.get(f"/api/v1/forums/{forum['id']}/ideas?sort=new")).json()["items"]

    assert [i["id"] for i in top] == [old["id"], new["id"]]
    assert [i["id"] for i in newest] == [new["id"], old["id"]]


async def test_comments_come_oldest_first_in_pages(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "Something to discuss")
    for n in range(5):
        await client.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": f"c{n}"})

    first = (await client.get(f"/api/v1/ideas/{idea['id']}/comments?limit=3")).json()
    rest = (
        await client.get(
            f"/api/v1/ideas/{idea['id']}/comments",
            params={"limit": 3, "cursor": first["next_cursor"]},
        )
    ).json()

    assert [c["body"] for c in first["items"] + rest["items"]] == [f"c{n}" for n in range(5)]
    assert rest["next_cursor"] is None


async def test_a_private_forum_is_not_found_for_outsiders_but_open_to_staff(
    browser: Browser,
) -> None:
    staff, outsider, anonymous = await browser(), await browser(), await browser()
    await sign_up(staff)
    await sign_up(outsider)
    forum = await open_forum(staff, "private")
    idea = await submit(staff, forum["id"], "Secret roadmap item")

    probes = [
        f"/api/v1/forums/{forum['id']}",
        f"/api/v1/forums/{forum['id']}/ideas",
        f"/api/v1/ideas/{idea['id']}",
        f"/api/v1/ideas/{idea['id']}/comments",
    ]
    for path in probes:
        assert (await outsider.get(path)).status_code == 404, path
        assert (await anonymous.get(path)).status_code == 404, path
        assert (await staff.get(path)).status_code == 200, path
    assert (await outsider.put(f"/api/v1/ideas/{idea['id']}/vote")).status_code == 404


async def test_an_invited_user_with_a_verified_email_can_see_a_private_forum(
    browser: Browser, container: Container
) -> None:
    staff, guest = await browser(), await browser()
    await sign_up(staff)
    guest_user = await sign_up(guest)
    await mark_verified(container, guest_user["id"])
    forum = await open_forum(staff, "private")

    before = await guest.get(f"/api/v1/forums/{forum['id']}")
    invited = await staff.post(
        f"/api/v1/forums/{forum['id']}/invitations", json={"emails": [guest_user["email"].upper()]}
    )
    after = await guest.get(f"/api/v1/forums/{forum['id']}")

    assert before.status_code == 404
    assert invited.status_code == 204
    assert after.status_code == 200


async def test_an_invitation_does_not_open_a_forum_to_an_unverified_email(
    browser: Browser,
) -> None:
    staff, claimant = await browser(), await browser()
    await sign_up(staff)
    claimant_user = await sign_up(claimant)
    forum = await open_forum(staff, "private")
    await staff.post(
        f"/api/v1/forums/{forum['id']}/invitations", json={"emails": [claimant_user["email"]]}
    )

    response = await claimant.get(f"/api/v1/forums/{forum['id']}")

    assert response.status_code == 404


async def test_only_staff_change_status_or_forum_settings(browser: Browser) -> None:
    staff, customer, anonymous = await browser(), await browser(), await browser()
    await sign_up(staff)
    await sign_up(customer)
    forum = await open_forum(staff)
    idea = await submit(customer, forum["id"], "Please add exports")

    by_customer = await customer.put(
        f"/api/v1/ideas/{idea['id']}/status", json={"status": "planned"}
    )
    by_anonymous = await anonymous.put(
        f"/api/v1/ideas/{idea['id']}/status", json={"status": "planned"}
    )
    patch = await customer.patch(f"/api/v1/forums/{forum['id']}", json={"name": "Mine"})
    by_staff = await staff.put(f"/api/v1/ideas/{idea['id']}/status", json={"status": "planned"})
    renamed = await staff.patch(
        f"/api/v1/forums/{forum['id']}", json={"name": "Roadmap", "visibility": "private"}
    )

    assert by_customer.status_code == 403 and patch.status_code == 403
    assert by_anonymous.status_code == 401
    assert by_staff.status_code == 200 and by_staff.json()["status"] == "planned"
    assert renamed.json()["name"] == "Roadmap" and renamed.json()["visibility"] == "private"


async def test_anonymous_visitors_read_but_cannot_write(browser: Browser) -> None:
    author, anonymous = await browser(), await browser()
    await sign_up(author)
    forum = await open_forum(author)
    idea = await submit(author, forum["id"], "Readable by anyone")

    read = await anonymous.get(f"/api/v1/ideas/{idea['id']}")
    vote = await anonymous.put(f"/api/v1/ideas/{idea['id']}/vote")
    post = await anonymous.post(f"/api/v1/forums/{forum['id']}/ideas", json={"summary": "Hey"})

    assert read.status_code == 200 and read.json()["voted_by_me"] is False
    assert read.json()["description"] == ""
    assert vote.status_code == 401 and post.status_code == 401


async def test_unwatching_sticks_after_commenting(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "Watch me")

    await client.delete(f"/api/v1/ideas/{idea['id']}/watch")
    await client.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "still here"})
    shown = (await client.get(f"/api/v1/ideas/{idea['id']}")).json()

    assert shown["watching"] is False


async def test_no_response_ever_holds_another_users_email(browser: Browser) -> None:
    people = [await browser() for _ in range(3)]
    users = [
        await sign_up(p, name) for p, name in zip(people, ["Ann A", "Ben B", "Cat C"], strict=True)
    ]
    forum = await open_forum(people[0])
    bodies: list[tuple[int, str]] = []
    ideas = []
    for n, person in enumerate(people):
        idea = await submit(person, forum["id"], f"Idea from person {n}")
        ideas.append(idea)
        bodies.append(
            (
                n,
                (
                    await person.post(
                        f"/api/v1/ideas/{idea['id']}/comments", json={"body": "hello"}
                    )
                ).text,
            )
        )

    for n, person in enumerate(people):
        for path in [
            f"/api/v1/forums/{forum['id']}",
            f"/api/v1/forums/{forum['id']}/ideas",
            *(f"/api/v1/ideas/{i['id']}" for i in ideas),
            *(f"/api/v1/ideas/{i['id']}/comments" for i in ideas),
            "/api/v1/me",
            f"/api/v1/forums/{forum['id']}/ideas?q=person",
        ]:
            bodies.append((n, (await person.get(path)).text))
        for idea in ideas:
            bodies.append((n, (await person.put(f"/api/v1/ideas/{idea['id']}/vote")).text))

    for viewer, body in bodies:
        for owner, user in enumerate(users):
            if owner != viewer:
                assert user["email"] not in body


async def test_health_readiness_and_the_openapi_document_are_served(browser: Browser) -> None:
    client = await browser()

    health = await client.get("/healthz")
    ready = await client.get("/readyz")
    schema = await client.get("/schema/openapi.json")

    assert health.status_code == 200 and ready.status_code == 200
    assert "/api/v1/forums/{forum_id}/ideas" in schema.json()["paths"]


async def test_every_answer_carries_a_request_id(browser: Browser) -> None:
    client = await browser()

    given = await client.get("/healthz", headers={"x-request-id": "abc-123"})
    made = await client.get("/nowhere")

    assert given.headers["x-request-id"] == "abc-123"
    assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32
    assert made.headers["content-type"].startswith("application/problem+json")


async def test_an_avatar_is_drawn_from_initials_without_the_email(browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client, "Grace Hopper")

    avatar = await client.get(user["avatar_url"].replace("http://testserver.local", ""))

    assert avatar.status_code == 200 and avatar.headers["content-type"].startswith("image/svg")
    assert ">GH<" in avatar.text and user["email"] not in avatar.text
