"""Random bearer secrets (API tokens, session keys) and the one-way digest the database keeps of them.

SHA-256 without salt is enough here: the secrets are 32 random bytes, so there is nothing to
guess, and an unsalted digest can be looked up by equality with a unique index.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
