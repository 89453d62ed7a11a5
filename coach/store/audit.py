"""A tamper-evident log of every read and change of patient data by a user.

Each entry stores the hash of the one before it and a hash over its own fields
and that previous hash (SHA-256). Editing, inserting or deleting an entry changes
a hash that every later entry depends on, so `verify` finds the first entry that
no longer fits. Truncating the tail cannot be seen from inside the file alone:
`verify` prints the head hash so it can be written down elsewhere and compared.

Hashes alone only show accidents: whoever holds the database key could rewrite an
entry and recompute every hash after it. So each entry also carries an HMAC of its
hash under the audit key, which lives in its own file (`audit.key` beside the
database key, or `COACH_AUDIT_KEY`) and can be kept apart from database backups.

Appends must be serialised through the commit: two writers that both read entry N as
the last one would both write N+1. `record` therefore runs only inside the store's
write units of work (`Store.session()`), which take SQLite's write lock at BEGIN, so
the read of the last entry and the insert after it commit before the next append
starts, across threads and processes alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.store.clinical import AuditEntry
from coach.store.schema import utcnow

GENESIS = "0" * 64

ENV_AUDIT_KEY = "COACH_AUDIT_KEY"


class AuditKeyError(Exception):
    """The audit key is missing or unsafe; the message says how to fix it."""


def load_audit_key(path: Path, create: bool) -> bytes:
    """The audit MAC key, from COACH_AUDIT_KEY or a 0600 file (made when `create` allows)."""
    env = os.environ.get(ENV_AUDIT_KEY)
    if env is not None:
        if not env.strip():
            raise AuditKeyError(f"{ENV_AUDIT_KEY} is set but empty; unset it or set the audit key")
        return env.strip().encode("utf-8")
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise AuditKeyError(f"audit key file {path} can be read by other users (mode {mode:o}); "
                                f"run `chmod 600 {path}`")
        key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise AuditKeyError(f"audit key file {path} is empty; restore it from your key backup")
        return key.encode("utf-8")
    if not create:
        raise AuditKeyError(f"the audit key {path} is missing, and the audit log was signed with it; "
                            f"restore the file from your key backup (or set {ENV_AUDIT_KEY})")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key.encode("utf-8")


def entry_mac(key: bytes, entry_hash_: str) -> str:
    return hmac.new(key, entry_hash_.encode("ascii"), hashlib.sha256).hexdigest()


def _key_of(db: Session) -> bytes:
    key = db.info.get("audit_key", b"")
    if not key:
        raise AuditKeyError("this database session has no audit key; open it through `open_store`")
    return bytes(key)


def sign_unsigned(db: Session, key: bytes) -> int:
    """Give entries written before MACs existed their MAC (once, when the audit key is made)."""
    count = 0
    for entry in db.scalars(select(AuditEntry).where(AuditEntry.mac == "")):
        entry.mac = entry_mac(key, entry.hash)
        count += 1
    return count


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
    """Append an entry in the caller's transaction (it commits with the change it describes).

    The caller's unit of work must be a write one (`Store.session()`): its BEGIN IMMEDIATE
    holds the write lock, so no other append can read the same last entry before this commits.
    """
    key = _key_of(db)
    last = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    prev = last.hash if last is not None else GENESIS
    entry = AuditEntry(id=(last.id + 1) if last is not None else 1, at=utcnow(),
                       user_id=user_id, username=username[:64], action=action,
                       patient_id=patient_id, target=target[:100], detail=detail,
                       prev_hash=prev, hash="")
    entry.hash = _hash_of(entry)
    entry.mac = entry_mac(key, entry.hash)
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
    key = _key_of(db)
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
        if not hmac.compare_digest(entry.mac or "", entry_mac(key, entry.hash)):
            return ChainReport(count, prev, entry.id,
                               f"entry {entry.id} does not carry the audit key's signature: it was "
                               "rewritten by someone without the audit key (or the key is not this "
                               "store's)")
        prev = entry.hash
        expected_id += 1
    return ChainReport(count, prev)
