"""API keys (stored as SHA-256 hashes), feedback, and a per-key rate limiter, in SQLite under the state folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import NotFoundError, QueryError
from qa.storage import full_disk_is_an_error

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, rating INTEGER NOT NULL, comment TEXT, source TEXT NOT NULL, key_name TEXT
);
"""


_MAX_BUCKETS = 10_000


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    """Who a valid key belongs to."""

    id: int
    name: str
    admin: bool


class KeyStore:
    """API keys and feedback in ``state_dir/app.sqlite`` (kept apart from the rebuildable index)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Key hashes and residents' feedback: readable by the service's user only (SQLite gives its journal
        # files the database file's permissions).
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, state_dir: Path) -> KeyStore:
        """The store of a state folder."""
        return cls(state_dir / "app.sqlite")

    def create(self, name: str, admin: bool = False) -> str:
        """Create a key and return it; only its hash is kept."""
        if not name.strip():
            raise QueryError("key name must not be empty")
        key = "qa_" + secrets.token_urlsafe(32)
        with self._lock, self._conn:
            self._conn.execute("INSERT INTO api_keys (name, key_hash, admin, created_at) VALUES (?, ?, ?, ?)",
                               (name.strip(), hash_key(key), int(admin), _now()))
        return key

    def check(self, key: str) -> KeyInfo | None:
        """The key's owner, or None for an unknown or revoked key."""
        with self._lock:
            row = self._conn.execute("SELECT id, name, admin FROM api_keys WHERE key_hash = ? AND revoked = 0",
                                     (hash_key(key),)).fetchone()
        return KeyInfo(row[0], row[1], bool(row[2])) if row else None

    def revoke(self, key_id: int) -> None:
        """Revoke a key by its id: it stops working at once."""
        with self._lock, self._conn:
            cur = self._conn.execute("UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,))
        if cur.rowcount == 0:
            raise NotFoundError(f"no active key with id {key_id}")

    def rotate(self, key_id: int) -> str:
        """Replace a key by a new one with the same name and role; the old one stops working at once."""
        with self._lock, self._conn:
            row = self._conn.execute("SELECT name, admin FROM api_keys WHERE id = ? AND revoked = 0",
                                     (key_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no active key with id {key_id}")
            key = "qa_" + secrets.token_urlsafe(32)
            self._conn.execute("UPDATE api_keys SET revoked = 1 WHERE id = ?", (key_id,))
            self._conn.execute("INSERT INTO api_keys (name, key_hash, admin, created_at) VALUES (?, ?, ?, ?)",
                               (row[0], hash_key(key), row[1], _now()))
        return key

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key's id, name, role and creation time."""
        with self._lock:
            rows = self._conn.execute("SELECT id, name, admin, created_at FROM api_keys WHERE revoked = 0 ORDER BY id")
            return [{"id": r[0], "name": r[1], "admin": bool(r[2]), "created_at": r[3]} for r in rows]

    def add_feedback(self, question: str, answer: str, rating: int, comment: str | None, source: str,
                     key_name: str | None = None) -> int:
        """Store one piece of feedback; returns its id (StorageFullError, not stored, when the disk is full)."""
        with full_disk_is_an_error("storing the feedback"), self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO feedback (created_at, question, answer, rating, comment, source, key_name) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (_now(), question, answer, rating, comment, source, key_name))
            return int(cur.lastrowid or 0)

    def feedback(self) -> list[dict[str, Any]]:
        """All feedback, oldest first."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT id, created_at, question, answer, rating, comment, source, key_name FROM feedback ORDER BY id")
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur]


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def peek(self, client: str) -> float:
        """The seconds ``client`` must wait before its next request (0 when it may go ahead), taking nothing."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (a fresh one is the same), so memory stays bounded."""
        self._buckets = {c: (t, last) for c, (t, last) in self._buckets.items()
                         if t + (now - last) * self.rate < self.capacity}
