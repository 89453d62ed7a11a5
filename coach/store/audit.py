"""A tamper-evident log of every read and change of patient data by a user.

Each entry stores the hash of the one before it and a hash over its own fields
and that previous hash (SHA-256). Editing, inserting or deleting an entry changes
a hash that every later entry depends on, so `verify` finds the first entry that
no longer fits. Truncating the tail cannot be seen from inside the file alone:
`verify` prints the head hash so it can be written down elsewhere and compared.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.store.clinical import AuditEntry
from coach.store.schema import utcnow

GENESIS = "0" * 64

_LOCK = threading.Lock()
"""Appends in one process are serialised so two requests never chain onto the same entry."""


def entry_hash(entry_id: int, at: datetime, user_id: int | None, username: str, action: str,
               patient_id: int | None, target: str, detail: str, prev_hash: str) -> str:
    body = json.dumps([entry_id, at.isoformat(timespec="microseconds"), user_id, username, action,
                       patient_id, target, detail, prev_hash], separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _hash_of(e: AuditEntry) -> str:
    return entry_hash(e.id, e.at, e.user_id, e.username, e.action, e.patient_id, e.target,
                      e.detail, e.prev_hash)


def record(db: Session, username: str, action: str, *, user_id: int | None = None,
           patient_id: int | None = None, target: str = "", detail: str = "") -> AuditEntry:
    """Append an entry in the caller's transaction (it commits with the change it describes)."""
    with _LOCK:
        last = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        prev = last.hash if last is not None else GENESIS
        entry = AuditEntry(id=(last.id + 1) if last is not None else 1, at=utcnow(),
                           user_id=user_id, username=username, action=action,
                           patient_id=patient_id, target=target, detail=detail,
                           prev_hash=prev, hash="")
        entry.hash = _hash_of(entry)
        db.add(entry)
        db.flush()
        return entry


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking the chain."""

    entries: int
    head: str
    """Hash of the last entry (GENESIS when empty)."""
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(db: Session) -> ChainReport:
    prev = GENESIS
    count = 0
    expected_id = 1
    for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if entry.id != expected_id:
            return ChainReport(count, prev, entry.id,
                               f"entries {expected_id}..{entry.id - 1} are missing before entry {entry.id}")
        if entry.prev_hash != prev:
            return ChainReport(count, prev, entry.id,
                               f"entry {entry.id} does not chain onto the entry before it")
        if _hash_of(entry) != entry.hash:
            return ChainReport(count, prev, entry.id,
                               f"entry {entry.id} was changed after it was written")
        prev = entry.hash
        expected_id += 1
    return ChainReport(count, prev)
