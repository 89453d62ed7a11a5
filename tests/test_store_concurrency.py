"""The store under many threads and several processes: what a multi-threaded server needs.

A probe crashed the clinician app (SIGSEGV in `_sqlite3`) with eight threads, and
concurrent page views took the same audit id. These run real stores, real threads,
real processes, and a real server under load; they assert correctness, never speed.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.pool import QueuePool

from coach.config import Settings
from coach.store import Patient, Store, StoreError, audit, open_store
from coach.store.clinical import AuditEntry
from coach.store.schema import Flag


def _open(home: Path) -> Store:
    return open_store(home / "coach.db", home / "db.key")


def _append(store: Store, who: str, n: int, errors: list[BaseException]) -> None:
    try:
        for i in range(n):
            with store.session() as db:
                # A read before the append, as every audited page view does.
                db.scalar(select(func.count()).select_from(Patient))
                audit.record(db, who, "view_dashboard", detail=str(i))
    except BaseException as exc:
        errors.append(exc)


def _chain(store: Store) -> tuple[int, bool, list[int]]:
    with store.reading() as db:
        report = audit.verify(db)
        ids = list(db.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    return report.entries, report.ok, ids


def test_the_pool_hands_each_unit_of_work_its_own_connection(tmp_path: Path) -> None:
    store = _open(tmp_path)
    assert isinstance(store.engine.pool, QueuePool)
    seen: set[int] = set()
    with store.session() as a, store.reading() as b:
        seen.add(id(a.connection().connection.dbapi_connection))
        seen.add(id(b.connection().connection.dbapi_connection))
    assert len(seen) == 2
    store.close()


def test_threads_append_one_unbroken_audit_chain(tmp_path: Path) -> None:
    store = _open(tmp_path)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_append, args=(store, f"t{n}", 25, errors)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries, ok, ids = _chain(store)
    assert ok and entries == 400 and ids == list(range(1, 401))
    store.close()


def _process_append(home: str, who: str, n: int) -> None:
    store = _open(Path(home))
    errors: list[BaseException] = []
    _append(store, who, n, errors)
    store.close()
    if errors:
        raise SystemExit(f"{who}: {errors[0]!r}")


def test_processes_append_one_unbroken_audit_chain(tmp_path: Path) -> None:
    _open(tmp_path).close()  # made once, so the processes race on appends, not on creation
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_process_append, args=(str(tmp_path), f"p{n}", 30)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    store = _open(tmp_path)
    entries, ok, ids = _chain(store)
    assert ok and entries == 120 and ids == list(range(1, 121))
    store.close()


def test_readers_and_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    store = _open(tmp_path)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                with store.session() as db:
                    db.add(Patient(name=f"writer {n} patient {i}"))
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(40):
                with store.reading() as db:
                    names = list(db.scalars(select(Patient.name)))
                    assert len(names) == len(set(names))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.reading() as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == 160
    store.close()


def test_the_audit_chain_is_keyed_apart_from_the_database_key(tmp_path: Path) -> None:
    store = _open(tmp_path)
    with store.session() as db:
        for i in range(3):
            audit.record(db, "drlee", "view_patient", patient_id=1, detail=str(i))
    # Someone with the database key (but not the audit key) rewrites entry 2 and recomputes
    # every hash from there on, as the hash chain alone would let them.
    with store.session() as db:
        entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        entries[1].username = "someone else"
        prev = entries[0].hash
        for e in entries[1:]:
            e.prev_hash = prev
            e.hash = audit.entry_hash(e.id, e.at, e.user_id, e.username, e.action, e.patient_id,
                                      e.target, e.detail, prev)
            prev = e.hash
    with store.reading() as db:
        report = audit.verify(db)
    assert not report.ok and report.broken_id == 2 and "audit key" in report.problem
    store.close()
    assert (tmp_path / "audit.key").stat().st_mode & 0o077 == 0
    (tmp_path / "audit.key").unlink()
    with pytest.raises(StoreError, match=r"audit key .* is missing"):
        _open(tmp_path)


def test_an_older_store_gets_its_entries_signed_once(tmp_path: Path) -> None:
    store = _open(tmp_path)
    with store.session() as db:
        audit.record(db, "cli", "view_patient")
        db.execute(update(AuditEntry).values(mac=""))  # as written before MACs existed
    store.close()
    (tmp_path / "audit.key").unlink()
    store = _open(tmp_path)
    with store.reading() as db:
        assert audit.verify(db).ok
        assert db.scalar(text("SELECT count(*) FROM audit_log WHERE mac = ''")) == 0
    store.close()


@pytest.mark.slow
def test_fifty_clients_at_once_against_the_real_server(home: Settings) -> None:
    """`coach bench web --concurrency` in miniature: a real `coach serve` process, real clients."""
    from coach.web.load import run_load
    from coach.web.seed import seed_store

    os.environ.pop("COACH_DB_KEY", None)
    store = open_store(home.db_path, home.key_path)
    seed_store(store, 40, 800, 20, "seed-clinician", None, progress=False)
    with store.session() as db:
        db.add(Flag(patient_id=1, category="emergency", reason="seeded for the load test"))
    report = run_load(store, concurrency=50, requests=9)
    assert report["errors"] == 0, report["error_kinds"]
    assert report["requests"] == 450 and report["audit_ok"]
    assert report["audit_entries_added"] >= report["audited_reads"] == 50 * 5
    assert report["server_log_errors"] == 0
    store.close()
