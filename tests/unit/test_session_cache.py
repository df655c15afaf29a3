"""The session cache of one process: what it keeps, for how long, and what it forgets."""

from __future__ import annotations

from customercase.adapters.local.sessions import LocalSessionCache
from customercase.domain.ids import UserId
from customercase.domain.users import Session, User
from tests.builders import NOW, a_user


class Ticking:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def a_session(user: User, token_hash: str = "hash-1") -> Session:  # noqa: S107
    return Session(token_hash, user.id, NOW, NOW)


def test_a_kept_session_is_given_back_with_its_user() -> None:
    cache = LocalSessionCache(2.0)
    user = a_user()
    session = a_session(user)

    cache.put(session, user, cache.version())

    assert cache.get("hash-1") == (session, user)


def test_a_kept_session_is_forgotten_after_the_time_to_live() -> None:
    clock = Ticking()
    cache = LocalSessionCache(2.0, clock=clock)
    user = a_user()
    cache.put(a_session(user), user, cache.version())
    clock.now += 2.0

    assert cache.get("hash-1") is None


def test_a_time_to_live_of_zero_keeps_nothing() -> None:
    cache = LocalSessionCache(0)
    user = a_user()

    cache.put(a_session(user), user, cache.version())

    assert cache.get("hash-1") is None


def test_dropping_a_session_forgets_only_that_one() -> None:
    cache = LocalSessionCache(2.0)
    user = a_user()
    cache.put(a_session(user, "hash-1"), user, cache.version())
    cache.put(a_session(user, "hash-2"), user, cache.version())

    cache.drop("hash-1")

    assert cache.get("hash-1") is None
    assert cache.get("hash-2") is not None


def test_dropping_a_user_forgets_all_their_sessions_and_nobody_elses() -> None:
    cache = LocalSessionCache(2.0)
    ada, bob = a_user(id=UserId("ada")), a_user(id=UserId("bob"))
    cache.put(a_session(ada, "ada-1"), ada, cache.version())
    cache.put(a_session(ada, "ada-2"), ada, cache.version())
    cache.put(a_session(bob, "bob-1"), bob, cache.version())

    cache.drop_user(ada.id)

    assert (cache.get("ada-1"), cache.get("ada-2")) == (None, None)
    assert cache.get("bob-1") is not None


def test_a_session_read_before_a_sign_out_is_not_kept_after_it() -> None:
    cache = LocalSessionCache(2.0)
    user = a_user()
    version = cache.version()
    cache.drop("hash-1")

    cache.put(a_session(user), user, version)

    assert cache.get("hash-1") is None


def test_a_full_cache_starts_afresh_and_keeps_the_newest() -> None:
    cache = LocalSessionCache(2.0, size=2)
    user = a_user()
    for token_hash in ("hash-1", "hash-2", "hash-3"):
        cache.put(a_session(user, token_hash), user, cache.version())

    assert [cache.get(h) is not None for h in ("hash-1", "hash-2", "hash-3")] == [
        False,
        False,
        True,
    ]
