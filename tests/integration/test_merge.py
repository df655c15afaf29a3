"""Merging duplicate ideas and taking them apart again, through the API on both databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from tests.integration.conftest import Browser
from tests.integration.walk import open_forum, sign_up, submit


async def _setting(browser: Browser) -> dict[str, Any]:
    staff, ada, bob = await browser(), await browser(), await browser()
    await sign_up(staff, "Staff Member")
    await sign_up(ada, "Ada Lovelace")
    await sign_up(bob, "Bob Babbage")
    forum = await open_forum(staff)
    survivor = await submit(ada, forum["id"], "Dark mode for the dashboard")
    duplicate = await submit(bob, forum["id"], "Night theme for dashboard")
    await ada.put(f"/api/v1/ideas/{duplicate['id']}/vote")
    await ada.post(f"/api/v1/ideas/{duplicate['id']}/comments", json={"body": "Same as mine"})
    return {
        "staff": staff,
        "ada": ada,
        "bob": bob,
        "forum": forum,
        "survivor": survivor,
        "duplicate": duplicate,
    }


async def test_merging_unions_votes_and_moves_comments_to_the_survivor(
    browser: Browser,
) -> None:
    s = await _setting(browser)
    dup, keep = s["duplicate"]["id"], s["survivor"]["id"]

    merged = await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": keep})
    old = await s["bob"].get(f"/api/v1/ideas/{dup}")
    listed = await s["bob"].get(f"/api/v1/forums/{s['forum']['id']}/ideas")
    comments = await s["bob"].get(f"/api/v1/ideas/{keep}/comments")
    bob_sees = await s["bob"].get(f"/api/v1/ideas/{keep}")
    similar = await s["bob"].get(
        f"/api/v1/forums/{s['forum']['id']}/ideas/similar", params={"q": "night theme"}
    )

    assert merged.status_code == 200
    assert merged.json()["id"] == keep
    assert merged.json()["votes"] == 2 and merged.json()["comments"] == 1
    assert old.status_code == 200 and old.json()["merged_into"] == keep
    assert old.json()["votes"] == 0
    assert [i["id"] for i in listed.json()["items"]] == [keep]
    assert [c["body"] for c in comments.json()["items"]] == ["Same as mine"]
    assert bob_sees.json()["voted_by_me"] and bob_sees.json()["watching"]
    assert dup not in [i["id"] for i in similar.json()["items"]]


async def test_every_watcher_of_either_idea_is_told_of_the_merge_once(
    browser: Browser, container: Container
) -> None:
    s = await _setting(browser)
    dup, keep = s["duplicate"]["id"], s["survivor"]["id"]
    await s["bob"].put(f"/api/v1/ideas/{keep}/watch")

    await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": keep})

    async with container.engine().connect() as conn:
        rows = (
            await conn.execute(
                sa.select(t.outbox.c.recipient_id, t.outbox.c.payload).where(
                    t.outbox.c.kind == "idea_merged", t.outbox.c.idea_id == keep
                )
            )
        ).all()
    recipients = sorted(r.recipient_id for r in rows)
    me_ada = (await s["ada"].get("/api/v1/me")).json()["id"]
    me_bob = (await s["bob"].get("/api/v1/me")).json()["id"]
    assert recipients == sorted([me_ada, me_bob])
    assert all(r.payload["merged_idea_id"] == dup for r in rows)


async def test_unmerging_restores_what_the_merge_moved(browser: Browser) -> None:
    s = await _setting(browser)
    dup, keep = s["duplicate"]["id"], s["survivor"]["id"]
    before_dup = (await s["ada"].get(f"/api/v1/ideas/{dup}")).json()
    before_keep = (await s["ada"].get(f"/api/v1/ideas/{keep}")).json()
    await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": keep})

    unmerged = await s["staff"].delete(f"/api/v1/ideas/{dup}/merge")
    after_dup = (await s["ada"].get(f"/api/v1/ideas/{dup}")).json()
    after_keep = (await s["ada"].get(f"/api/v1/ideas/{keep}")).json()
    comments = await s["ada"].get(f"/api/v1/ideas/{dup}/comments")

    assert unmerged.status_code == 200 and unmerged.json()["merged_into"] is None
    for field in ("votes", "comments", "voted_by_me", "watching", "merged_into"):
        assert after_dup[field] == before_dup[field]
        assert after_keep[field] == before_keep[field]
    assert [c["body"] for c in comments.json()["items"]] == ["Same as mine"]


async def test_a_merge_is_refused_when_it_would_loop_or_cross_forums(browser: Browser) -> None:
    s = await _setting(browser)
    dup, keep = s["duplicate"]["id"], s["survivor"]["id"]
    elsewhere = await open_forum(s["staff"])
    foreign = await submit(s["staff"], elsewhere["id"], "Dark mode elsewhere")

    itself = await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": dup})
    across = await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": foreign["id"]})
    await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": keep})
    into_merged = await s["staff"].post(f"/api/v1/ideas/{keep}/merge", json={"into": dup})
    vote_on_merged = await s["bob"].put(f"/api/v1/ideas/{dup}/vote")
    not_merged = await s["staff"].delete(f"/api/v1/ideas/{keep}/merge")

    assert itself.status_code == across.status_code == into_merged.status_code == 409
    assert vote_on_merged.status_code == 409
    assert not_merged.status_code == 409


async def test_only_staff_merge_or_unmerge(browser: Browser) -> None:
    s = await _setting(browser)
    dup, keep = s["duplicate"]["id"], s["survivor"]["id"]

    by_user = await s["bob"].post(f"/api/v1/ideas/{dup}/merge", json={"into": keep})
    await s["staff"].post(f"/api/v1/ideas/{dup}/merge", json={"into": keep})
    unmerge_by_user = await s["bob"].delete(f"/api/v1/ideas/{dup}/merge")

    assert by_user.status_code == unmerge_by_user.status_code == 403
