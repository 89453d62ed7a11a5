from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from coach.store import Patient, StoreError, open_store
from coach.store.db import MIGRATIONS
from coach.store.keys import ENV_KEY


def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_store(tmp_path / "coach.db", tmp_path / "db.key")


def test_creates_encrypted_db_and_private_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    store = _store(tmp_path)
    with store.session() as db:
        db.add(Patient(name="Ann Lee", conditions=["COPD"]))
    store.close()
    assert stat.S_IMODE((tmp_path / "db.key").stat().st_mode) == 0o600
    raw = (tmp_path / "coach.db").read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    assert b"Ann Lee" not in raw and b"COPD" not in raw
    store = _store(tmp_path)
    with store.session() as db:
        assert db.query(Patient).one().conditions == ["COPD"]
    store.close()


def _head() -> str:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_schema_is_at_alembic_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    store = _store(tmp_path)
    with store.engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == _head()
        tables = set(inspect(conn).get_table_names())
    assert {"patients", "sessions", "turns", "goals", "checkins", "flags"} <= tables
    store.close()


def test_wrong_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    _store(tmp_path).close()
    monkeypatch.setenv(ENV_KEY, "f" * 64)
    with pytest.raises(StoreError, match="key is wrong or the file is damaged"):
        _store(tmp_path)


def test_passphrase_key_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, "correct horse 'battery' \"staple\"")
    store = _store(tmp_path)
    with store.session() as db:
        db.add(Patient(name="Bo"))
    store.close()
    assert not (tmp_path / "db.key").exists()
    with _store(tmp_path).session() as db:
        assert db.query(Patient).one().name == "Bo"


def test_corrupt_and_plain_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    store = _store(tmp_path)
    store.close()
    (tmp_path / "coach.db").write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match="damaged"):
        _store(tmp_path)
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("create table t(x)").connection.commit()
    with pytest.raises(StoreError, match="unencrypted"):
        open_store(plain, tmp_path / "db.key")


def test_key_file_readable_by_others_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    _store(tmp_path).close()
    (tmp_path / "db.key").chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        _store(tmp_path)


def test_missing_key_for_existing_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    _store(tmp_path).close()
    (tmp_path / "db.key").unlink()
    with pytest.raises(StoreError, match="restore the key file"):
        _store(tmp_path)


def test_empty_file_is_refused_not_made_a_new_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    _store(tmp_path).close()
    (tmp_path / "coach.db").write_bytes(b"")
    with pytest.raises(StoreError, match=r"is empty \(0 bytes\).*fresh install.*backup"):
        _store(tmp_path)
    assert (tmp_path / "coach.db").stat().st_size == 0


def test_missing_store_is_not_created_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store yet"):
        open_store(tmp_path / "coach.db", tmp_path / "db.key", create=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_env_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv(ENV_KEY, blank)
    with pytest.raises(StoreError, match="COACH_DB_KEY is set but empty"):
        _store(tmp_path)
    assert list(tmp_path.iterdir()) == []  # an empty key would have meant no encryption


def test_unreadable_key_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    _store(tmp_path).close()
    (tmp_path / "db.key").unlink()
    (tmp_path / "db.key").mkdir(mode=0o700)
    with pytest.raises(StoreError, match="cannot read the key file"):
        _store(tmp_path)


def test_store_path_that_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    (tmp_path / "coach.db").mkdir()
    with pytest.raises(StoreError, match="is a folder, not a coach store"):
        _store(tmp_path)
