"""PostgreSQL: a vote cast or withdrawn, or a comment's counters moved, in one call

`cast_vote` and `withdraw_vote` lock the idea's row (FOR NO KEY UPDATE, as every counter move
does), write or delete the vote, log the counters as locked in `idea_moves` and move them: what
the vote path did in three statements inside BEGIN … COMMIT, now one autocommit round trip
(docs/performance.md, "Fourth pass"). The lock is a statement of its own inside the function,
so the UPDATE meets a row nobody else can change (the single-statement form deadlocked).

The service judged the idea from a read without a lock; `cast_vote` writes only if the idea is
still as judged (not merged, the same moderation state), else it returns NULLs and writes
nothing, and the service reads again, locked. `withdraw_vote` deletes only the vote cast at
`cast_at` (its weight is `weight`: the heat it added, computed by the caller, so a withdrawn
vote takes back exactly what it gave); another one (withdrawn and cast again meanwhile, or moved
by a merge) is left to the caller's long way. `move_counters` is a comment's move, called
inside the one statement that writes the comment: it raises (SQLSTATE CCI01) when the idea is
not as judged, so that nothing of the statement is written. SQLite needs none of this (one
writer).

Additive (expand): code of the previous revision never calls them.

Revision ID: d7a4c2e8f051
Revises: c5d1e7a93b28
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "d7a4c2e8f051"
down_revision = "c5d1e7a93b28"
branch_labels = None
depends_on = None

UP = [
    """CREATE FUNCTION cast_vote(
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
        INSERT INTO votes (idea_id, user_id, created_at) VALUES (idea, voter, cast_at)
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
    END $$""",
    """CREATE FUNCTION withdraw_vote(
        idea text, voter text, cast_at timestamptz, weight float8,
        OUT moved boolean, OUT votes_now integer
    ) LANGUAGE plpgsql AS $$
    DECLARE
        locked record;
    BEGIN
        SELECT i.forum_id, i.votes, i.heat INTO locked
            FROM ideas AS i WHERE i.id = idea FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RETURN;  -- the idea is gone: NULLs back
        END IF;
        DELETE FROM votes AS v
            WHERE v.idea_id = idea AND v.user_id = voter AND v.created_at = cast_at;
        IF NOT FOUND THEN  -- not that vote: the caller takes the long way
            moved := false;
            votes_now := locked.votes;
            RETURN;
        END IF;
        INSERT INTO idea_moves (idea_id, forum_id, votes, heat)
            VALUES (idea, locked.forum_id, locked.votes, locked.heat);
        UPDATE ideas AS i SET votes = i.votes - 1, heat = i.heat - weight
            WHERE i.id = idea RETURNING i.votes INTO votes_now;
        moved := true;
    END $$""",
    # A comment's counter move, inside the one statement that writes the comment (with its
    # watch and outbox rows): raises IDEA_CHANGED (SQLSTATE CCI01) when the idea is not as
    # the caller judged it, so that statement writes nothing at all.
    """CREATE FUNCTION move_counters(
        idea text, votes_by integer, comments_by integer, weight float8, moderation_seen text
    ) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE
        locked record;
        votes_now integer;
    BEGIN
        SELECT i.forum_id, i.votes, i.heat, i.merged_into, i.moderation INTO locked
            FROM ideas AS i WHERE i.id = idea FOR NO KEY UPDATE;
        IF NOT FOUND OR locked.merged_into IS NOT NULL
                OR locked.moderation <> moderation_seen THEN
            RAISE EXCEPTION 'idea % changed since it was read', idea USING ERRCODE = 'CCI01';
        END IF;
        INSERT INTO idea_moves (idea_id, forum_id, votes, heat)
            VALUES (idea, locked.forum_id, locked.votes, locked.heat);
        UPDATE ideas AS i
            SET votes = i.votes + votes_by, comments = i.comments + comments_by,
                heat = i.heat + weight
            WHERE i.id = idea RETURNING i.votes INTO votes_now;
        RETURN votes_now;
    END $$""",
]
DOWN = [
    "DROP FUNCTION IF EXISTS move_counters(text, integer, integer, float8, text)",
    "DROP FUNCTION IF EXISTS withdraw_vote(text, text, timestamptz, float8)",
    "DROP FUNCTION IF EXISTS cast_vote(text, text, timestamptz, float8, text)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWN:
            op.execute(statement)
