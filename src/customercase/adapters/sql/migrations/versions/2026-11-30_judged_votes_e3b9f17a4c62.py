"""votes.weight, and PostgreSQL's votes judged on a recent read of their idea, in one call

A vote's `weight` is the heat it added to its idea (NULL for votes cast before this revision,
or restored by an unmerge): a withdrawal that knows it takes back exactly that without having
read the vote first. `cast_vote` records it from now on (same signature and answers).

`cast_judged_vote` and `withdraw_judged_vote` are the vote of a use case that judged the idea
on a read it made moments ago, in another request (services.ideas, RecentIdeas): one round
trip instead of a read and a call. Each locks the idea's row and writes only if what that
judgement rested on still holds: the idea is there and not merged, in the moderation state
judged, its forum of the visibility judged and its vendor not deleted (and, for a vote, the
voter's account still there). Otherwise, or when the vote to withdraw has no recorded weight,
they write nothing and answer NULLs: the use case then reads the idea and judges afresh. The
answer carries what the voter's view needs fresh: the counters, whether they watch the idea,
and its author's name. SQLite needs none of this (one writer, no round trips).

Additive (expand): code of the previous revision never reads `weight` or calls them.

Revision ID: e3b9f17a4c62
Revises: d7a4c2e8f051
Create Date: 2026-11-30 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e3b9f17a4c62"
down_revision = "d7a4c2e8f051"
branch_labels = None
depends_on = None

# cast_vote as d7a4c2e8f051 made it; UP records `weight` in the vote's row, DOWN puts it back.
_CAST_VOTE = """CREATE OR REPLACE FUNCTION cast_vote(
        idea text, voter text, cast_at timestamptz, weight float8, moderation_seen text,
        OUT moved boolean, OUT votes_now integer
    ) LANGUAGE plpgsql AS $$
    DECLARE
        locked record;
    BEGIN
        SELECT i.forum_id, i.votes, i.heat, i.merged_into, i.moderation INTO locked
            FROM ideas AS i WHERE i.id = idea FOR NO KEY UPDATE;
        IF NOT FOUND OR locked.merged_into IS NOT NULL
                OR locked.moderation <> moderation_seen THEN
            RETURN;  -- not as the caller judged it: nothing written, NULLs back
        END IF;
        INSERT INTO votes ({columns}) VALUES ({values})
            ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN  -- voted before: nothing moves
            moved := false;
            votes_now := locked.votes;
            RETURN;
        END IF;
        INSERT INTO idea_moves (idea_id, forum_id, votes, heat)
            VALUES (idea, locked.forum_id, locked.votes, locked.heat);
        UPDATE ideas AS i SET votes = i.votes + 1, heat = i.heat + weight
            WHERE i.id = idea RETURNING i.votes INTO votes_now;
        moved := true;
    END $$"""

# The idea's row locked and checked as judged (the lines both judged functions start with).
_LOCK_AS_JUDGED = """
        SELECT i.forum_id, i.votes, i.comments, i.heat, i.author_id INTO locked
            FROM ideas AS i
            JOIN forums AS f ON f.id = i.forum_id
            JOIN vendors AS v ON v.id = f.vendor_id
            WHERE i.id = idea AND i.merged_into IS NULL AND i.moderation = moderation_seen
                AND f.visibility = visibility_seen AND v.deleted_at IS NULL
            FOR NO KEY UPDATE OF i;
        IF NOT FOUND THEN
            RETURN;  -- not as judged: nothing written, NULLs back
        END IF;"""

# What the voter's view needs fresh, once the vote is cast or withdrawn.
_ANSWER = """
        comments_now := locked.comments;
        watching := coalesce(
            (SELECT w.watching FROM watches AS w WHERE w.idea_id = idea AND w.user_id = voter),
            false);
        SELECT u.name INTO author_name FROM users AS u WHERE u.id = locked.author_id;"""

_OUT = """OUT moved boolean, OUT votes_now integer, OUT comments_now integer,
        OUT watching boolean, OUT author_name text"""

UP = [
    _CAST_VOTE.format(
        columns="idea_id, user_id, created_at, weight", values="idea, voter, cast_at, weight"
    ),
    f"""CREATE FUNCTION cast_judged_vote(
        idea text, voter text, cast_at timestamptz, weight float8, moderation_seen text,
        visibility_seen text, {_OUT}
    ) LANGUAGE plpgsql AS $$
    DECLARE
        locked record;
    BEGIN
        {_LOCK_AS_JUDGED}
        IF NOT EXISTS (SELECT 1 FROM users AS u WHERE u.id = voter) THEN
            RETURN;  -- the account is gone (its session not yet forgotten here)
        END IF;
        INSERT INTO votes (idea_id, user_id, created_at, weight)
            VALUES (idea, voter, cast_at, weight)
            ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO idea_moves (idea_id, forum_id, votes, heat)
                VALUES (idea, locked.forum_id, locked.votes, locked.heat);
            UPDATE ideas AS i SET votes = i.votes + 1, heat = i.heat + weight
                WHERE i.id = idea RETURNING i.votes INTO votes_now;
            moved := true;
        ELSE  -- voted before: nothing moves
            votes_now := locked.votes;
            moved := false;
        END IF;
        {_ANSWER}
    END $$""",  # noqa: S608 (constants of this file: no input)
    f"""CREATE FUNCTION withdraw_judged_vote(
        idea text, voter text, moderation_seen text, visibility_seen text, {_OUT}
    ) LANGUAGE plpgsql AS $$
    DECLARE
        locked record;
        taken float8;
    BEGIN
        {_LOCK_AS_JUDGED}
        DELETE FROM votes AS v
            WHERE v.idea_id = idea AND v.user_id = voter AND v.weight IS NOT NULL
            RETURNING v.weight INTO taken;
        IF FOUND THEN
            INSERT INTO idea_moves (idea_id, forum_id, votes, heat)
                VALUES (idea, locked.forum_id, locked.votes, locked.heat);
            UPDATE ideas AS i SET votes = i.votes - 1, heat = i.heat - taken
                WHERE i.id = idea RETURNING i.votes INTO votes_now;
            moved := true;
        ELSIF EXISTS (SELECT 1 FROM votes AS v WHERE v.idea_id = idea AND v.user_id = voter) THEN
            RETURN;  -- a vote without its weight: the caller takes the long way
        ELSE  -- no vote to withdraw: nothing moves
            votes_now := locked.votes;
            moved := false;
        END IF;
        {_ANSWER}
    END $$""",  # noqa: S608 (constants of this file: no input)
]
DOWN = [
    "DROP FUNCTION IF EXISTS withdraw_judged_vote(text, text, text, text)",
    "DROP FUNCTION IF EXISTS cast_judged_vote(text, text, timestamptz, float8, text, text)",
    _CAST_VOTE.format(columns="idea_id, user_id, created_at", values="idea, voter, cast_at"),
]


def upgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("weight", sa.Double, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWN:
            op.execute(statement)
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("weight")
