"""Accounts, assignments and the hash-chained audit log, on a real encrypted store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from coach.cli.main import app
from coach.config import Settings
from coach.store import Patient, Store, open_store
from coach.store.accounts import (
    AccountError,
    account,
    add_user,
    assign,
    assigned_patient_ids,
    authenticate,
    may_see,
    reset_password,
)
from coach.store.audit import GENESIS, record, verify
from coach.store.clinical import User

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(tmp_path / "coach.db", tmp_path / "db.key")
    yield s  # type: ignore[misc]
    s.close()


def test_passwords_are_argon2_hashed_and_checked(store: Store) -> None:
    with store.session() as db:
        user = add_user(db, "DrLee", PASSWORD, display_name="Dr Lee")
        assert user.username == "drlee"
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    with store.session() as db:
        assert authenticate(db, "drlee", PASSWORD) is not None
        assert authenticate(db, "drlee", PASSWORD + "x") is None
        assert authenticate(db, "nobody", PASSWORD) is None
        reset_password(db, "drlee", "another long passphrase")
    with store.session() as db:
        assert authenticate(db, "drlee", PASSWORD) is None
        assert authenticate(db, "drlee", "another long passphrase") is not None


@pytest.mark.parametrize(("name", "password", "role", "message"), [
    ("a", PASSWORD, "clinician", "username"),
    ("drlee", "short", "clinician", "at least 10"),
    ("drlee", PASSWORD, "nurse", "role must be"),
])
def test_bad_accounts_are_refused(store: Store, name: str, password: str, role: str, message: str) -> None:
    with store.session() as db, pytest.raises(AccountError, match=message):
        add_user(db, name, password, role)


def test_duplicate_username_is_refused(store: Store) -> None:
    with store.session() as db:
        add_user(db, "drlee", PASSWORD)
    with store.session() as db, pytest.raises(AccountError, match="already a user"):
        add_user(db, "drlee", PASSWORD)


def test_clinician_sees_only_assigned_patients_admin_sees_all(store: Store) -> None:
    with store.session() as db:
        a, b = Patient(name="Ann"), Patient(name="Bob")
        db.add_all([a, b])
        db.flush()
        lee = add_user(db, "drlee", PASSWORD)
        boss = add_user(db, "boss", PASSWORD, "admin")
        assert assign(db, lee, a.id) and not assign(db, lee, a.id)
        with pytest.raises(AccountError, match="no patient"):
            assign(db, lee, 999)
        lee_acc, boss_acc = account(lee), account(boss)
        assert assigned_patient_ids(db, lee_acc) == {a.id}
        assert assigned_patient_ids(db, boss_acc) is None
        assert may_see(db, lee_acc, a.id) and not may_see(db, lee_acc, b.id)
        assert may_see(db, boss_acc, b.id)


def test_audit_chain_verifies_and_names_the_first_tampered_entry(store: Store) -> None:
    with store.session() as db:
        assert verify(db).ok and verify(db).head == GENESIS
        for n in range(5):
            record(db, "drlee", "view_patient", user_id=1, patient_id=n, target=f"patient:{n}")
    with store.session() as db:
        report = verify(db)
        assert report.ok and report.entries == 5
        db.execute(text("UPDATE audit_log SET patient_id = 99 WHERE id = 3"))
    with store.session() as db:
        report = verify(db)
        assert not report.ok and report.broken_id == 3 and "changed" in report.problem
        db.execute(text("UPDATE audit_log SET patient_id = 2 WHERE id = 3"))
        assert verify(db).ok
        db.execute(text("DELETE FROM audit_log WHERE id = 2"))
    with store.session() as db:
        report = verify(db)
        assert report.broken_id == 3 and "missing" in report.problem


def _coach(*args: str, stdin: str = "", ok: bool = True) -> Result:
    """The real command tree in-process (one import instead of one per call)."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_users_and_audit_commands(home: Settings) -> None:
    added = json.loads(_coach("patients", "add", "--name", "Ann Lee", "--json").output)
    out = json.loads(_coach("users", "add", "drlee", "--name", "Dr Lee", "-p", str(added["id"]),
                            "--password-stdin", "--json", stdin=PASSWORD + "\n").output)
    assert out["username"] == "drlee" and out["patients"] == [added["id"]]
    refused = _coach("users", "add", "nurse", stdin="", ok=False)
    assert refused.exit_code != 0 and "--password-stdin" in refused.output
    short = _coach("users", "add", "nurse", "--password-stdin", stdin="short\n", ok=False)
    assert isinstance(short.exception, AccountError) and "at least 10" in str(short.exception)
    listed = json.loads(_coach("users", "list", "--json").output)
    assert [u["username"] for u in listed] == ["drlee"] and listed[0]["patients"] == [added["id"]]
    _coach("users", "reset-password", "drlee", "--password-stdin", stdin="a new long passphrase\n")
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        user = db.query(User).one()
        assert authenticate(db, "drlee", "a new long passphrase") is not None and user.active
    store.close()
    verified = json.loads(_coach("audit", "verify", "--json").output)
    assert verified["ok"] and verified["entries"] == 1  # the assignment
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        db.execute(text("UPDATE audit_log SET detail = 'someone else' WHERE id = 1"))
    store.close()
    broken = _coach("audit", "verify", ok=False)
    assert broken.exit_code == 1 and "broken at entry 1" in broken.output


@pytest.mark.parametrize("command", [
    ["users", "add"], ["users", "list"], ["users", "reset-password"], ["users", "assign"],
    ["users", "disable"], ["users", "enable"], ["users", "unlock"],
    ["audit", "verify"], ["audit", "list"], ["notes", "make"], ["export", "fhir"], ["serve"],
    ["seed"], ["bench", "notes"], ["bench", "web"],
])
def test_clinician_commands_have_help_with_examples(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_migrations_match_the_models(store: Store) -> None:
    """Alembic's autogenerate finds nothing to do: the next migration starts from a clean diff."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from coach.store.schema import Base

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_an_admin_unlocks_an_account_from_the_command_line(home: Settings) -> None:
    from datetime import timedelta

    from coach.store.clinical import AuditEntry, SignInThrottle
    from coach.store.schema import utcnow

    _coach("users", "add", "drlee", "--password-stdin", stdin=PASSWORD + "\n")
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        for address in ("10.0.0.1", "10.0.0.2"):
            db.add(SignInThrottle(username="drlee", address=address, failures=0, window_start=utcnow(),
                                  locked_until=utcnow() + timedelta(minutes=5), lockouts=1))
    store.close()
    assert "2 lockout(s) lifted" in _coach("users", "unlock", "drlee").output
    assert _coach("users", "unlock", "nobody", ok=False).exit_code != 0
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        assert db.query(SignInThrottle).count() == 0
        assert db.query(AuditEntry).filter(AuditEntry.action == "unlock_user").count() == 1
    store.close()


def test_a_port_a_crashed_server_left_in_time_wait_can_be_served_again() -> None:
    import socket

    from coach.cli.clinician import port_problem

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert "in use" in port_problem("127.0.0.1", port)  # someone is listening: refused
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first, so its end waits in TIME_WAIT
    server.close()
    client.close()
    assert port_problem("127.0.0.1", port) == ""
