"""Open the encrypted SQLite store, bring its schema up to date, hand out sessions.

SQLCipher encrypts every page, so a copied `coach.db` is unreadable without the
key. A wrong key and a damaged file look the same to SQLCipher (the first page
does not decrypt), so the error names both possibilities and what to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from coach.store.keys import KeyError_, key_literal, load_key

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do."""


def _check_readable(conn: Any, path: Path) -> None:
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        with path.open("rb") as fh:
            head = fh.read(16)
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


def make_engine(path: Path, key: str) -> Engine:
    # The dialect issues `PRAGMA key` with the URL's password, quoted, on every new connection.
    url = URL.create("sqlite+pysqlcipher", password=key_literal(key), database=str(path))
    engine = create_engine(url, connect_args={"timeout": 30})

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

    return engine


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
    """The one handle the rest of the coach uses to read and write patient data."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        with self._sessions() as db:
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


def open_store(db_path: Path, key_path: Path, create: bool = True) -> Store:
    """Open (and if allowed create) the encrypted store, migrating it to the current schema."""
    if not db_path.exists() and not create:
        raise StoreError(f"no database at {db_path}; run `coach patients add` to start one")
    try:
        key = load_key(key_path, create=create and not db_path.exists())
    except KeyError_ as exc:
        raise StoreError(str(exc)) from exc
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(db_path, key)
    try:
        upgrade_schema(engine)
    except StoreError:
        engine.dispose()
        raise
    except DatabaseError as exc:
        engine.dispose()
        raise StoreError(
            f"the database {db_path} is damaged ({exc.orig}); restore it from a backup"
        ) from exc
    return Store(engine, db_path)
