"""argon2id password hashes (argon2-cffi), computed on worker threads of their own."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

# Hashes at once. Each takes memory_kib from the thread's own malloc arena, which glibc keeps
# after the hash: with asyncio's default pool (6 threads here) a burst of sign-ins left the web
# process at about 200 MB (docs/performance.md). Two threads hold two arenas, and a 2-core box
# cannot hash faster with more.
HASH_THREADS = 2


class Argon2PasswordHasher:
    def __init__(
        self, time_cost: int = 3, memory_kib: int = 19 * 1024, parallelism: int = 1
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the account has no password, so that costs the same.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
        self._threads = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
