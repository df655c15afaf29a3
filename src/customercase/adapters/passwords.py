"""argon2id password hashes (argon2-cffi), computed on worker threads of their own."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import secrets
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

# Hashes at once: a 2-core box cannot hash faster with more threads.
HASH_THREADS = 2
# glibc's M_MMAP_THRESHOLD (mallopt's -3) and the size from which allocations are mapped.
M_MMAP_THRESHOLD = -3
MAPPED_FROM_BYTES = 1 << 20


def return_hash_memory_on_free() -> bool:
    """Make glibc map every allocation of 1 MiB or more, so that each hash's memory_kib block
    goes back to the system when the hash is done.

    By default glibc raises its mmap threshold to the size of a freed mapped block (up to
    32 MiB), so from the second hash on the 19 MiB block comes from the thread's arena and stays
    resident: a burst of sign-ins left ~38 MB behind with two threads (measured: 53 MB → 14 MB
    after 20 hashes). Setting the threshold turns that adjustment off. No effect (False) where
    the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MAPPED_FROM_BYTES))


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
        return_hash_memory_on_free()
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
