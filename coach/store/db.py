"""Open the encrypted SQLite store, bring its schema up to date, hand out sessions.

SQLCipher encrypts every page, so a copied `coach.db` is unreadable without the
key. A wrong key and a damaged file look the same to SQLCipher (the first page
does not decrypt), so the error names both possibilities and what to check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import URL, Connection, Engine, create_engine, event, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from coach.store.audit import AuditKeyError
from coach.store.keys import KeyError_, key_literal, load_key

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do."""


_NO_WRITE = ("readonly database", "unable to open database file", "read-only file system")
"""SQLite's words for a file or folder it may not write: a permission problem, not damage."""


def _permission_problem(path: Path, error: object) -> str | None:
    """The message for a store that cannot be written, or None when `error` is something else.

    SQLite keeps its -wal and -shm files beside the database, so the folder must be
    writable as well as the file. Saying "damaged, restore from backup" here would send an
    operator to overwrite a healthy store.
    """
    if not any(words in str(error).lower() for words in _NO_WRITE):
        return None
    return (f"cannot write the store {path} ({error}): this is a permission problem, not a damaged "
            f"store. The user running coach needs write access to the file and to its folder "
            f"{path.parent} (SQLite keeps its -wal and -shm files there); check with "
            f"`ls -ld {path.parent} {path}` and fix the owner or mode, or set COACH_HOME to a "
            "writable folder")


def _check_readable(conn: Any, path: Path) -> None:
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        problem = _permission_problem(path, exc)
        if problem is not None:
            raise StoreError(problem) from exc
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as os_exc:
            raise StoreError(f"cannot read the store {path} ({os_exc.strerror}); check its owner and "
                             f"mode with `ls -l {path}`") from exc
        if head == b"SQLite format 3\x00":
            raise StoreError(
                f"{path} is a plain, unencrypted SQLite file, not a coach store; "
                "move it aside and run the command again"
            ) from exc
        raise StoreError(
            f"cannot open the database {path}: the key is wrong or the file is damaged. "
            "Check COACH_DB_KEY or the key file (db.key beside the database); "
            "if the key is right, restore coach.db from a backup"
        ) from exc


POOL_SIZE = 8
"""Connections kept open: the web server runs sync routes on a thread pool, and opening a
SQLCipher connection costs a key derivation when the key is a passphrase."""
POOL_OVERFLOW = 32
"""Extra connections under bursts (anyio's default thread pool has 40 threads)."""
BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's write transaction before giving up."""


def make_engine(path: Path, key: str) -> Engine:
    """An engine safe for a multi-threaded server and for several processes on one file.

    SQLAlchemy's pysqlcipher dialect defaults to a `SingletonThreadPool`, which shares one
    connection per thread and closes other threads' connections once it holds five: under a
    threaded server that crossed statements between requests and crashed inside `_sqlite3`.
    A `QueuePool` hands each unit of work its own connection; `check_same_thread=False` only
    lets a pooled connection be reused by the next thread, never by two at once.

    Transactions begin explicitly (pysqlite's implicit BEGIN is turned off): `BEGIN IMMEDIATE`
    by default, so a unit of work that reads and then writes (every audited page view) holds
    the write lock from its first read and can never fail halfway on a stale snapshot; units
    of work opened with `Store.reading()` begin `DEFERRED` and never block a writer.
    """
    # The dialect issues `PRAGMA key` with the URL's password, quoted, on every new connection.
    url = URL.create("sqlite+pysqlcipher", password=key_literal(key), database=str(path))
    engine = create_engine(url, poolclass=QueuePool, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                           pool_timeout=BUSY_TIMEOUT_S, pool_pre_ping=False,
                           connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect", insert=True)
    def _quiet(dbapi_conn: Any, _record: Any) -> None:
        # Runs before the dialect's PRAGMA key: SQLCipher would otherwise print its own
        # log lines to stderr on a wrong key, ahead of our message.
        dbapi_conn.execute("PRAGMA cipher_log_level = NONE")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _check_readable(dbapi_conn, path)
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        dbapi_conn.execute("PRAGMA journal_mode = WAL")
        dbapi_conn.execute("PRAGMA synchronous = NORMAL")
        # Transactions are begun by `_begin` below, not by the driver.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(BEGIN_OPTION, 'IMMEDIATE')}")

    return engine


BEGIN_OPTION = "coach_begin"


def upgrade_schema(engine: Engine) -> None:
    """Run Alembic migrations up to head inside the open engine."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    """The one handle the rest of the coach uses to read and write patient data.

    Safe to share between threads: each unit of work gets its own pooled connection. Units of
    work that may write are serialised in this process by a lock (fair, no polling) and across
    processes by SQLite's write lock, taken at BEGIN; so a read-then-write such as an audit
    append sees the newest row and commits before the next one starts.
    """

    WRITE_WAIT_S = 60.0

    def __init__(self, engine: Engine, path: Path, audit_key: bytes = b"") -> None:
        self.engine = engine
        self.path = path
        info = {"audit_key": audit_key}
        self._sessions = sessionmaker(engine, expire_on_commit=False, info=info)
        self._reads = sessionmaker(engine.execution_options(**{BEGIN_OPTION: "DEFERRED"}),
                                   expire_on_commit=False, info=info)
        self._write_lock = threading.RLock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work that may write: committed on success, rolled back on any error."""
        if not self._write_lock.acquire(timeout=self.WRITE_WAIT_S):
            raise StoreError(f"the database {self.path} stayed busy for {self.WRITE_WAIT_S:.0f} s; "
                             "try again in a moment")
        try:
            with self._unit(self._sessions) as db:
                yield db
        finally:
            self._write_lock.release()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads: it neither waits for nor blocks a writer.

        Use it for work that reads now and writes much later (a note drafted by a model):
        holding the write lock through minutes of generation would stall every clinician.
        A write inside it may fail if another writer committed first; it then rolls back.
        """
        with self._unit(self._reads) as db:
            yield db

    @contextmanager
    def _unit(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        with factory() as db:
            try:
                yield db
                db.commit()
            except DatabaseError as exc:
                db.rollback()
                raise StoreError(f"the database {self.path} refused the change: {exc.orig}") from exc
            except BaseException:
                db.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def _refuse_unusable(db_path: Path) -> None:
    """Refuse a path that exists but cannot be a store, before anything is written to it.

    SQLCipher treats a 0-byte file as a new, empty database and would quietly start over:
    a store truncated by a full disk or a bad copy would look like a fresh install. A live
    store never has an empty file beside a non-empty write-ahead log, so that case is let be.
    """
    if db_path.is_dir():
        raise StoreError(f"{db_path} is a folder, not a coach store; move it aside or set COACH_HOME "
                         "to the folder that holds coach.db")
    wal = db_path.with_name(db_path.name + "-wal")
    if (db_path.exists() and db_path.stat().st_size == 0
            and not (wal.exists() and wal.stat().st_size > 0)):
        raise StoreError(
            f"the store {db_path} is empty (0 bytes), so it holds no data and is not opened. "
            f"If this is a fresh install, delete it (`rm {db_path}`) and run the command again; "
            "otherwise it was emptied by mistake: restore coach.db (with its key) from a backup")


def open_store(db_path: Path, key_path: Path, create: bool = True) -> Store:
    """Open (and if allowed create) the encrypted store, migrating it to the current schema."""
    try:
        exists = db_path.exists()
    except PermissionError as exc:
        raise StoreError(f"no permission to look inside {db_path.parent}; run coach as the user who "
                         "owns it, or set COACH_HOME to a folder you can use") from exc
    if not exists and not create:
        raise StoreError(
            f"there is no store yet at {db_path}, so there is nothing to read: nothing has been "
            "recorded on this install (or COACH_HOME points elsewhere). `coach patients add` "
            "starts one")
    _refuse_unusable(db_path)
    try:
        key = load_key(key_path, create=create and not exists)
    except KeyError_ as exc:
        raise StoreError(str(exc)) from exc
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder {db_path.parent} for the store ({exc.strerror}); "
                         "create it, or set COACH_HOME to a folder you can write to") from exc
    engine = make_engine(db_path, key)
    try:
        upgrade_schema(engine)
    except StoreError:
        engine.dispose()
        raise
    except DatabaseError as exc:
        engine.dispose()
        problem = _permission_problem(db_path, exc.orig)
        if problem is not None:
            raise StoreError(problem) from exc
        raise StoreError(
            f"the database {db_path} is damaged ({exc.orig}); restore it from a backup"
        ) from exc
    try:
        audit_key = _audit_key(engine, key_path.with_name(AUDIT_KEY_FILE))
    except (AuditKeyError, OSError) as exc:
        engine.dispose()
        raise StoreError(str(exc) if isinstance(exc, AuditKeyError) else
                         f"cannot write the audit key beside {key_path} ({exc.strerror}); "
                         "make that folder writable, or set COACH_AUDIT_KEY") from exc
    return Store(engine, db_path, audit_key)


AUDIT_KEY_FILE = "audit.key"


def _audit_key(engine: Engine, path: Path) -> bytes:
    """Load the audit key; make it (and sign the entries so far) only while no entry is signed.

    Once any entry carries a MAC, a missing key is an error rather than a fresh start: a new
    key would re-sign whatever someone had rewritten.
    """
    from coach.store.audit import load_audit_key, sign_unsigned
    from coach.store.clinical import AuditEntry

    with engine.connect() as conn:
        signed = conn.scalar(select(AuditEntry.id).where(AuditEntry.mac != "").limit(1)) is not None
        conn.rollback()
    key = load_audit_key(path, create=not signed)
    if not signed:
        with Session(engine) as db, db.begin():
            sign_unsigned(db, key)
    return key
