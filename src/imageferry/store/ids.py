"""Short random identifiers for tasks, runs and API tokens.

``t-`` + 10 base32 characters (50 random bits): short enough to type in
``ferry task show t-…``, random enough that two processes sharing a Postgres
store never collide in practice (the primary key would reject it anyway).
"""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["new_id", "new_run_id", "new_task_id", "new_token_id", "unit_key"]


def new_id(prefix: str, length: int = 10) -> str:
    """``prefix-`` followed by ``length`` lower-case base32 characters."""
    raw = base64.b32encode(secrets.token_bytes(length)).decode("ascii").lower()
    return f"{prefix}-{raw[:length]}"


def new_task_id() -> str:
    return new_id("t")


def new_run_id() -> str:
    return new_id("r")


def new_token_id() -> str:
    return new_id("k")


def unit_key(source: str, destination: str) -> str:
    """The stable id of one image-copy work unit.

    The same source and destination give the same key in every run and on
    every worker, so recording a result twice updates one row.
    """
    return hashlib.sha256(f"{source}\n{destination}".encode()).hexdigest()
