"""A demo vendor and forum with ideas, votes and comments, for a first look."""

from __future__ import annotations

from dataclasses import dataclass

from customercase.domain.checks import Reach, Verification
from customercase.domain.errors import EmailTaken
from customercase.domain.ideas import Status
from customercase.domain.ports import Clock, Ids, PasswordHasher, UnitOfWork
from customercase.domain.spam import Submission, Verdict
from customercase.domain.vendors import Visibility
from customercase.services import ideas, identity, vendors


class _OwnWords:
    """The demo's posts are ours: no spam filter needs to judge them."""

    is_instant = True  # the demo's own words, no filter asked

    async def check(self, submission: Submission) -> Verdict:
        return Verdict.HAM

    async def report_spam(self, submission: Submission) -> None:
        return None

    async def report_ham(self, submission: Submission) -> None:
        return None

    async def verify(self) -> Verification:
        return Verification(Reach.OFF, "the demo's own posts")


STAFF_EMAIL = "staff@demo.customercase.test"
STAFF_PASSWORD = "customer-case-demo"  # noqa: S105 - a documented local demo account

IDEAS = [
    ("Dark mode for the dashboard", Status.PLANNED),
    ("Export reports as CSV", Status.IN_PROGRESS),
    ("Single sign-on with Okta", Status.UNDER_REVIEW),
    ("Keyboard shortcuts for triage", Status.OPEN),
    ("Slack notifications when a ticket is assigned", Status.OPEN),
    ("Mobile app for iOS and Android", Status.OPEN),
    ("Bulk edit of tags", Status.DONE),
    ("Two-factor authentication", Status.DONE),
    ("Custom fields on the request form", Status.OPEN),
    ("API rate limits shown in the dashboard", Status.DECLINED),
    ("Weekly summary email for managers", Status.OPEN),
    ("Search inside attachments", Status.UNDER_REVIEW),
]
PEOPLE = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
]
COMMENTS = [
    "We need this for our whole team.",
    "Any update on this?",
    "This would save us hours every week.",
    "+1, our customers ask for it too.",
]


@dataclass(frozen=True, slots=True)
class Demo:
    forum_id: str
    staff_email: str
    staff_password: str


async def seed_demo(
    *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, ids: Ids
) -> Demo | None:
    """Create the demo forum; None when the staff account exists already."""
    try:
        staff = await identity.sign_up(
            identity.SignUp(STAFF_EMAIL, "Demo Staff", STAFF_PASSWORD),
            uow=uow,
            hasher=hasher,
            clock=clock,
            ids=ids,
        )
    except EmailTaken:
        return None
    vendor = await vendors.create_vendor(
        vendors.CreateVendor("Acme Analytics", "acme", staff.user.id), uow=uow, clock=clock, ids=ids
    )
    forum = await vendors.create_forum(
        vendors.CreateForum(
            vendor.vendor.id, "Product ideas", "ideas", Visibility.PUBLIC, staff.user.id
        ),
        uow=uow,
        clock=clock,
        ids=ids,
    )
    people = []
    for name in PEOPLE:
        email = f"{name.split()[0].lower()}@demo.customercase.test"
        signed = await identity.sign_up(
            identity.SignUp(email, name, f"{email}-demo"),
            uow=uow,
            hasher=hasher,
            clock=clock,
            ids=ids,
        )
        people.append(signed.user)
    for n, (summary, status) in enumerate(IDEAS):
        author = people[n % len(people)]
        view = await ideas.submit_idea(
            ideas.SubmitIdea(forum.id, author.id, summary),
            uow=uow,
            clock=clock,
            ids=ids,
            spam=_OwnWords(),
        )
        for voter in people[: (len(IDEAS) - n) % len(people) + 1]:
            await ideas.vote(view.idea.id, voter.id, uow=uow, clock=clock)
        if n % 3 == 0:
            for k, commenter in enumerate(people[n % 4 : n % 4 + 2]):
                await ideas.add_comment(
                    ideas.AddComment(view.idea.id, commenter.id, COMMENTS[(n + k) % len(COMMENTS)]),
                    uow=uow,
                    clock=clock,
                    ids=ids,
                    spam=_OwnWords(),
                )
        if status is not Status.OPEN:
            await ideas.change_status(
                view.idea.id, status, staff.user.id, uow=uow, clock=clock, ids=ids
            )
    return Demo(forum.id, STAFF_EMAIL, STAFF_PASSWORD)
