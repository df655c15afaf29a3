"""Merges in memory: the twin of `SqlMergeRepository` in adapters/sql/repositories.py.

A merge moves the source's votes (one per user: a vote for both stays on the target only),
comments and watches to the target, and records in `merge_moves` exactly what it moved or
dropped, so that unmerge puts back what still exists, counters (heat included) with it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from customercase.adapters.fakes.tables import (
    MergeRecord,
    Moved,
    Tables,
    Transaction,
    move_counters,
    require,
    utc,
)
from customercase.domain.ideas import Idea
from customercase.domain.ids import CommentId, UserId
from customercase.domain.spam import Moderation
from customercase.domain.trending import COMMENT_WEIGHT, heat_of


class InMemoryMergeRepository:
    def __init__(self, tx: Transaction, half_life_days: float) -> None:
        self._tx = tx
        self._half_life = half_life_days

    def _heat(self, votes: list[datetime], comments: list[datetime]) -> float:
        return sum(heat_of(at, self._half_life) for at in votes) + sum(
            COMMENT_WEIGHT * heat_of(at, self._half_life) for at in comments
        )

    async def merge(self, source: Idea, target: Idea, by: UserId, at: datetime) -> None:
        at = utc(at)
        s, t = source.id, target.id

        def merge(db: Tables) -> None:
            require(s not in db.merges, "idea merged already")
            require(s in db.ideas and t in db.ideas, "merge of an unknown idea")
            before = db.ideas[s]
            db.merges[s] = MergeRecord(t, by, at, before.votes, before.comments, db.heat[s])
            votes = {u: when for (i, u), when in db.votes.items() if i == s}
            moved = {u: when for u, when in votes.items() if (t, u) not in db.votes}
            for u, when in votes.items():
                kind = "vote" if u in moved else "vote_dropped"
                db.merge_moves[s, kind, u] = Moved(created_at=when)
                del db.votes[s, u]
            db.votes.update({(t, u): when for u, when in moved.items()})
            comments = [c for c in db.comments.values() if c.idea_id == s]
            # Only published comments are counted (a held one is counted when approved).
            counted = [c for c in comments if c.moderation is Moderation.PUBLISHED]
            for c in comments:
                db.merge_moves[s, "comment", c.id] = Moved(created_at=c.created_at)
                db.comments[c.id] = replace(c, idea_id=t)
            watches = {u: w for (i, u), w in db.watches.items() if i == s}
            for u, watching in watches.items():
                if (t, u) in db.watches:
                    db.merge_moves[s, "watch_dropped", u] = Moved(watching=watching)
                else:
                    db.merge_moves[s, "watch", u] = Moved()
                    db.watches[t, u] = watching
                del db.watches[s, u]
            gained = self._heat(list(moved.values()), [c.created_at for c in counted])
            move_counters(db, s, votes=-before.votes, comments=-before.comments, heat=-db.heat[s])
            move_counters(db, t, votes=len(moved), comments=len(counted), heat=gained)
            db.ideas[s] = replace(db.ideas[s], merged_into=t, updated_at=at)

        self._tx.write(merge)

    async def unmerge(self, source: Idea) -> None:
        s = source.id

        def unmerge(db: Tables) -> None:
            merge = db.merges.get(s)
            require(merge is not None, "unmerge of an idea not merged")
            assert merge is not None
            t = merge.into_id
            refs: dict[str, dict[str, Moved]] = {}
            for (idea_id, kind, ref), moved in db.merge_moves.items():
                if idea_id == s:
                    refs.setdefault(kind, {})[ref] = moved
            voted = refs.get("vote", {})
            back = {u: when for (i, u), when in db.votes.items() if i == t and u in voted}
            for voter, when in back.items():
                del db.votes[t, voter]
                db.votes[s, voter] = when
            dropped = refs.get("vote_dropped", {})
            for ref, moved in dropped.items():
                assert moved.created_at is not None
                db.votes[s, UserId(ref)] = moved.created_at
            commented = refs.get("comment", {})
            comments_back = [
                c for c in db.comments.values() if c.idea_id == t and c.id in commented
            ]
            # Only published comments are counted (a held one is counted when approved).
            counted_back = [c for c in comments_back if c.moderation is Moderation.PUBLISHED]
            for c in comments_back:
                db.comments[c.id] = replace(c, idea_id=s)
            watched = refs.get("watch", {})
            for watcher in map(UserId, watched):
                db.watches.pop((s, watcher), None)
                if (t, watcher) in db.watches:
                    db.watches[s, watcher] = db.watches.pop((t, watcher))
            for ref, moved in refs.get("watch_dropped", {}).items():
                assert moved.watching is not None
                db.watches.setdefault((s, UserId(ref)), moved.watching)
            # Rows withdrawn or deleted from the survivor since the merge do not come back.
            lost_votes = [m.created_at for ref, m in voted.items() if ref not in back]
            returned_ids = {c.id for c in comments_back}
            lost_comments = [
                m.created_at for c, m in commented.items() if CommentId(c) not in returned_ids
            ]
            returned = self._heat(list(back.values()), [c.created_at for c in counted_back])
            move_counters(db, t, votes=-len(back), comments=-len(counted_back), heat=-returned)
            # A merged idea takes no votes or comments, so when everything came back the
            # source's counters are exactly those it had before (heat bit for bit).
            heat = merge.heat
            if lost_votes or lost_comments:
                heat -= self._heat(
                    [w for w in lost_votes if w is not None],
                    [w for w in lost_comments if w is not None],
                )
            current = db.ideas[s]
            move_counters(
                db,
                s,
                votes=len(back) + len(dropped) - current.votes,
                comments=len(counted_back) - current.comments,
                heat=heat - db.heat[s],
            )
            db.ideas[s] = replace(db.ideas[s], merged_into=None)
            db.merge_moves = {k: v for k, v in db.merge_moves.items() if k[0] != s}
            del db.merges[s]

        self._tx.write(unmerge)
