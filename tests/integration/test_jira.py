"""Jira two-way sync over real HTTP against the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa
from dependency_injector import providers

from customercase.adapters.fakes.spam import FakeSpamFilter
from customercase.adapters.sql import tables as t
from tests.integration.conftest import JiraWorld
from tests.integration.jira_steps import (
    all_ideas,
    bound_forum,
    connect,
    deliver,
    outbox_kinds,
    run_tracker_jobs,
    sync,
)
from tests.integration.mailflow import drain, outbox_rows
from tests.integration.walk import sign_up, submit


async def test_connecting_jira_checks_the_token_once_and_never_shows_it(
    jira_world: JiraWorld,
) -> None:
    staff, stranger = await jira_world.browser(), await jira_world.browser()
    await sign_up(staff, "Sam Staff")
    await sign_up(stranger, "Stan Stranger")

    vendor_id, good = await connect(jira_world, staff)
    _, wrong = await connect(jira_world, staff, token="not-the-token")
    refused = await stranger.put(
        f"/api/v1/vendors/{vendor_id}/jira",
        json={"site_url": jira_world.jira.base_url, "email": "bot@example.org", "api_token": "x"},
    )
    async with jira_world.container.engine().connect() as conn:
        sealed = await conn.scalar(
            sa.select(t.jira_connections.c.sealed_token).where(
                t.jira_connections.c.vendor_id == vendor_id
            )
        )

    assert good.status_code == 200
    assert good.json() == {
        "site_url": jira_world.jira.base_url,
        "email": "bot@example.org",
        "connected": True,
    }
    assert wrong.status_code == 422 and "not-the-token" not in wrong.text
    assert refused.status_code == 403
    assert sealed and "token" not in sealed
    assert [r[1] for r in jira_world.jira.requests].count("/rest/api/3/myself") == 2


async def test_binding_a_project_imports_every_issue_with_its_reporter_and_status(
    jira_world: JiraWorld,
) -> None:
    jira = jira_world.jira
    jira.page_cap = 10
    known = await jira_world.browser()
    ada = await sign_up(known, "Ada Lovelace")
    jira.add_user("ada", "Ada in Jira", ada["email"].upper())
    jira.add_user("hidden", "Hidden Person", "hidden@example.org", email_visible=False)
    jira.bulk_create("SUP", 25, ["ada", "hidden"])
    jira.transition("SUP-2", "In Progress")
    jira.transition("SUP-3", "Won't Do")
    jira.comment("SUP-4", "hidden", "Imported comment")
    jira.webhooks.clear()

    staff, forum = await bound_forum(jira_world, status_names={"Won't Do": "declined"})
    await run_tracker_jobs(jira_world)
    ideas = await all_ideas(staff, forum["id"])
    by_key = {i["tracker_key"]: i for i in ideas}
    assert len(ideas) == 25 and len(by_key) == 25, sorted(by_key)
    comments = await staff.get(f"/api/v1/ideas/{by_key['SUP-4']['id']}/comments")

    assert len(ideas) == 25 and len(by_key) == 25, sorted(by_key)
    assert by_key["SUP-1"]["author"]["id"] == ada["id"]
    assert by_key["SUP-2"]["author"]["name"] == "Hidden Person"
    assert by_key["SUP-2"]["status"] == "in_progress"
    assert by_key["SUP-3"]["status"] == "declined"
    assert by_key["SUP-5"]["status"] == "open"
    assert [c["body"] for c in comments.json()["items"]] == ["Imported comment"]
    assert comments.json()["items"][0]["source"] == "jira"


async def test_an_idea_and_a_comment_reach_jira_and_never_echo_back(
    jira_world: JiraWorld,
) -> None:
    _, forum = await bound_forum(jira_world)
    await run_tracker_jobs(jira_world)
    customer = await jira_world.browser()
    await sign_up(customer, "Cora Customer")

    response = await customer.post(
        f"/api/v1/forums/{forum['id']}/ideas",
        json={"summary": "Export to CSV", "description": "For the monthly report."},
    )
    idea = response.json()
    await customer.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Please!"})
    await run_tracker_jobs(jira_world)
    statuses = await deliver(jira_world)
    await sync(jira_world, forum["id"])
    shown = (await customer.get(f"/api/v1/ideas/{idea['id']}")).json()
    comments = (await customer.get(f"/api/v1/ideas/{idea['id']}/comments")).json()["items"]
    issue = jira_world.jira.issues["SUP-1"]

    assert issue.summary == "Export to CSV" and f"cc-{idea['id']}" in issue.labels
    assert issue.description["type"] == "doc"
    assert f"/ideas/{idea['id']}" in json.dumps(issue.description)
    assert [c["body"]["content"][1]["content"][0]["text"] for c in issue.comments] == ["Please!"]
    assert statuses == [200, 200]
    assert shown["tracker_key"] == "SUP-1"
    assert "For the monthly report." in shown["description"]
    assert [c["body"] for c in comments] == ["Please!"]
    assert len(await all_ideas(customer, forum["id"])) == 1


async def test_a_bound_idea_keeps_only_its_summary_here(jira_world: JiraWorld) -> None:
    staff, forum = await bound_forum(jira_world)
    response = await staff.post(
        f"/api/v1/forums/{forum['id']}/ideas",
        json={"summary": "Private details", "description": "Secret roadmap"},
    )

    async with jira_world.container.engine().connect() as conn:
        stored = await conn.scalar(
            sa.select(t.ideas.c.description).where(t.ideas.c.id == response.json()["id"])
        )

    assert stored == ""


async def test_status_and_comments_made_in_jira_reach_the_forum_and_its_watchers(
    jira_world: JiraWorld,
) -> None:
    jira = jira_world.jira
    staff, forum = await bound_forum(jira_world)
    await run_tracker_jobs(jira_world)
    idea = await submit(staff, forum["id"], "Single sign-on")
    await run_tracker_jobs(jira_world)
    jira.add_user("dana", "Dana Ops", "dana@example.org")

    jira.transition("SUP-1", "In Progress", actor="dana")
    jira.comment("SUP-1", "dana", "Working on it")
    first = await deliver(jira_world, repeat=True)
    shown = (await staff.get(f"/api/v1/ideas/{idea['id']}")).json()
    comments = (await staff.get(f"/api/v1/ideas/{idea['id']}/comments")).json()["items"]
    kinds = await outbox_kinds(jira_world, idea["id"])

    assert set(first) == {200}
    assert shown["status"] == "in_progress"
    assert [(c["body"], c["source"], c["author"]["name"]) for c in comments] == [
        ("Working on it", "jira", "Dana Ops")
    ]
    assert kinds.count("status_changed") == 1 and kinds.count("new_comment") == 1


async def test_a_new_issue_in_jira_becomes_an_idea_and_a_deleted_one_is_let_go(
    jira_world: JiraWorld,
) -> None:
    jira = jira_world.jira
    staff, forum = await bound_forum(jira_world)
    await run_tracker_jobs(jira_world)
    jira.add_user("dana", "Dana Ops", None, email_visible=False)

    jira.create("SUP", "Made in Jira", "dana")
    await deliver(jira_world)
    made = await all_ideas(staff, forum["id"])
    jira.delete("SUP-1")
    await deliver(jira_world)
    after = (await staff.get(f"/api/v1/ideas/{made[0]['id']}")).json()

    assert [(i["summary"], i["tracker_key"]) for i in made] == [("Made in Jira", "SUP-1")]
    assert after["tracker_key"] is None and after["summary"] == "Made in Jira"


async def test_a_webhook_with_a_bad_signature_is_refused(jira_world: JiraWorld) -> None:
    hook = await jira_world.browser()
    jira_world.jira.create("SUP", "Sneaky", "bot-account")

    forged = await jira_world.jira.deliver(hook, "/webhooks/jira", "wrong secret")
    unsigned = await hook.post("/webhooks/jira", json={"webhookEvent": "jira:issue_created"})

    assert forged == [401] and unsigned.status_code == 401


async def test_dropped_webhooks_cost_nothing_once_sync_runs(jira_world: JiraWorld) -> None:
    jira = jira_world.jira
    staff, forum = await bound_forum(jira_world)
    await run_tracker_jobs(jira_world)
    jira.add_user("dana", "Dana Ops", "dana@example.org")
    for n in range(12):
        jira.create("SUP", f"Jira idea {n}", "dana")
    await deliver(jira_world, drop=0.5, seed=1)
    for n in range(1, 13, 2):
        jira.transition(f"SUP-{n}", "Done", actor="dana")
        jira.comment(f"SUP-{n}", "dana", f"Shipped {n}")

    await deliver(jira_world, drop=0.5, seed=2)
    before = await all_ideas(staff, forum["id"])
    report = await sync(jira_world, forum["id"])
    ideas = {i["tracker_key"]: i for i in await all_ideas(staff, forum["id"])}
    again = await sync(jira_world, forum["id"])

    assert len(before) < 12
    assert len(ideas) == 12
    assert {k for k, i in ideas.items() if i["status"] == "done"} == {
        f"SUP-{n}" for n in range(1, 13, 2)
    }
    assert all(ideas[f"SUP-{n}"]["comments"] == 1 for n in range(1, 13, 2))
    assert report.seen == 12
    assert (again.ideas_created, again.comments_added, again.status_changes) == (0, 0, 0)


async def test_two_sync_runners_at_once_make_no_twins(jira_world: JiraWorld) -> None:
    jira = jira_world.jira
    jira.page_cap = 5
    jira.faults.latency = 0.005
    jira.add_user("dana", "Dana Ops", "dana@example.org")
    jira.bulk_create("SUP", 30, ["dana"])
    staff, forum = await bound_forum(jira_world)

    first, second = await asyncio.gather(
        sync(jira_world, forum["id"], "one"), sync(jira_world, forum["id"], "two")
    )
    ideas = await all_ideas(staff, forum["id"])

    assert len(ideas) == 30 == len({i["tracker_key"] for i in ideas})
    assert first.skipped != second.skipped


async def test_import_completes_when_jira_rate_limits_every_third_call(
    jira_world: JiraWorld,
) -> None:
    jira = jira_world.jira
    jira.page_cap = 4
    jira.faults.rate_limit_every = 3
    jira.faults.retry_after = "0"
    jira.add_user("dana", "Dana Ops", "dana@example.org")
    jira.bulk_create("SUP", 20, ["dana"])

    staff, forum = await bound_forum(jira_world)
    await run_tracker_jobs(jira_world)

    assert len(await all_ideas(staff, forum["id"])) == 20


async def test_a_project_jira_refuses_is_recorded_not_retried_forever(
    jira_world: JiraWorld,
) -> None:
    staff, forum = await bound_forum(jira_world)
    await run_tracker_jobs(jira_world)
    patched = await staff.patch(
        f"/api/v1/forums/{forum['id']}", json={"jira": {"project_key": "GONE"}}
    )
    idea = await submit(staff, forum["id"], "Goes nowhere")

    from customercase.domain.errors import TrackerRejected

    try:
        await run_tracker_jobs(jira_world)
        refused = None
    except TrackerRejected as error:
        refused = error

    assert patched.status_code == 200 and patched.json()["jira"]["project_key"] == "GONE"
    assert refused is not None and refused.status in (400, 404)
    assert idea["tracker_key"] is None


async def test_the_outbox_worker_runs_the_tracker_jobs_and_forgets_the_description(
    jira_world: JiraWorld,
) -> None:
    _, forum = await bound_forum(jira_world)
    await drain(jira_world.container)
    customer = await jira_world.browser()
    await sign_up(customer, "Wendy Worker")

    idea = (
        await customer.post(
            f"/api/v1/forums/{forum['id']}/ideas",
            json={"summary": "Filed by the worker", "description": "Only Jira keeps this."},
        )
    ).json()
    await customer.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Me too"})
    await drain(jira_world.container)
    filed = [i for i in jira_world.jira.issues.values() if i.summary == "Filed by the worker"]
    jobs = [r for r in await outbox_rows(jira_world.container, idea["id"]) if "tracker" in r.kind]

    assert len(filed) == 1 and len(filed[0].comments) == 1
    assert {r.state for r in jobs} == {"sent"}
    assert all("description" not in r.payload for r in jobs)


async def test_held_posts_reach_jira_once_staff_approve_them_description_included(
    jira_world: JiraWorld,
) -> None:
    staff, forum = await bound_forum(jira_world)
    await drain(jira_world.container)
    customer = await jira_world.browser()
    await sign_up(customer, "Hank Held")
    with jira_world.container.spam.override(providers.Object(FakeSpamFilter())):
        idea = (
            await customer.post(
                f"/api/v1/forums/{forum['id']}/ideas",
                json={"summary": "Dark mode [[spam]]", "description": "Staff must read this."},
            )
        ).json()
        queue = (await staff.get(f"/api/v1/forums/{forum['id']}/moderation")).json()
        await drain(jira_world.container)
        filed_while_held = [i for i in jira_world.jira.issues.values() if "Dark mode" in i.summary]
        assert (await staff.post(f"/api/v1/moderation/{idea['id']}/approve")).status_code == 204
        comment = (
            await customer.post(
                f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Still want it [[spam]]"}
            )
        ).json()
        assert (await staff.post(f"/api/v1/moderation/{comment['id']}/approve")).status_code == 204
    await drain(jira_world.container)
    (issue,) = [i for i in jira_world.jira.issues.values() if "Dark mode" in i.summary]
    async with jira_world.container.engine().connect() as conn:
        kept = await conn.scalar(sa.select(t.ideas.c.description).where(t.ideas.c.id == idea["id"]))

    assert "Staff must read this." in json.dumps(queue)
    assert filed_while_held == []
    assert "Staff must read this." in json.dumps(issue.description)
    assert [c["body"]["content"][1]["content"][0]["text"] for c in issue.comments] == [
        "Still want it [[spam]]"
    ]
    assert kept == ""
