"""argon2id password hashing, with the cost taken from the settings."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from classmill.errors import UserError

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 hashes any length; the cap only keeps request bodies sane


class Passwords:
    """Hashes and verifies passwords; one instance per app (the cost comes from Settings)."""

    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the username is unknown, so that answer takes as long as a wrong password.
        self._decoy = self._hasher.hash("classmill decoy password")

    def hash(self, password: str) -> str:
        check_password_rules(password)
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._decoy, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise UserError(f"the password is too short ({len(password)} characters). Use at least {MIN_LENGTH}.")
    if len(password) > MAX_LENGTH:
        raise UserError(f"the password is longer than {MAX_LENGTH} characters. Use a shorter one.")
