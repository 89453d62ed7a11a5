"""Bad input on the command line: a specific message and exit code, never a traceback, and
nothing created or changed that the command was refused for.

Most cases run `coach.cli.main.main()` in-process (the same error handling as the
installed `coach` script, one import instead of one per case); the ones that depend on
how the operating system hands over bytes or permissions run a real process.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from coach.cli.main import main
from coach.config import Settings
from coach.store import Patient, open_store
from coach.store.accounts import authenticate
from coach.store.clinical import AuditEntry, User, WebSession

HUGE = "99999999999999999999"
TOO_BIG = str(2**63)
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


Coach = Callable[..., Outcome]


@pytest.fixture
def coach(home: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Coach:
    """Run `coach ARGS...` as the console script does; a traceback fails the test."""

    def run(*argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Outcome:
        capsys.readouterr()
        previous = signal.getsignal(signal.SIGTERM)
        with monkeypatch.context() as m:
            m.setattr(sys, "argv", ["coach", *argv])
            m.setattr(sys, "stdin", io.StringIO(stdin))
            m.setenv("COLUMNS", "400")  # one message, one line: fragments are not wrapped apart
            for name, value in (env or {}).items():
                m.setenv(name, value)
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            finally:
                signal.signal(signal.SIGTERM, previous)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Outcome(code, out, err)

    return run


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")) if root.exists() else []


# (argv, a fragment of the message, exit code). None of these gets as far as the store, so
# each also checks that a fresh home stays empty. {tmp} is a scratch folder beside the home.
REFUSED: list[tuple[list[str], str, int]] = [
    (["patients", "show", HUGE], "cannot be an id", 2),
    (["patients", "show", "0"], "cannot be an id", 2),
    (["goals", "list", "-p", HUGE], "cannot be an id", 2),
    (["goals", "add", "-p", TOO_BIG, "--what", "walk", "--measure", "steps", "--target", "1"],
     "cannot be an id", 2),
    (["goals", "checkin", HUGE, "--value", "1"], "cannot be an id", 2),
    (["notes", "make", "--session", HUGE], "cannot be an id", 2),
    (["notes", "make", "--patient", HUGE], "cannot be an id", 2),
    (["export", "fhir", "-p", TOO_BIG], "cannot be an id", 2),
    (["audit", "list", "-p", HUGE], "cannot be an id", 2),
    (["audit", "list", "--limit", "0"], "'--limit': Input should be greater than or equal to 1", 2),
    (["audit", "list", "--limit", HUGE], "'--limit': Input should be less than or equal to 100000", 2),
    (["users", "assign", "drlee", "-p", HUGE], "cannot be an id", 2),
    (["users", "add", "drlee", "-p", HUGE, "--password-stdin"], "cannot be an id", 2),
    (["chat", "-p", HUGE], "cannot be an id", 2),
    (["talk", "-p", HUGE, "--mic"], "cannot be an id", 2),
    (["talk", "-p", "1", "--pcm", "-", "--channels", "3"], "less than or equal to 2", 2),
    (["vr", "-p", HUGE], "cannot be an id", 2),
    (["memory", "status", "-p", HUGE], "cannot be an id", 2),
    (["memory", "document", "-p", "1", "--include-turn", HUGE, "--by", "Ann"], "cannot be an id", 2),
    (["patients", "add", "--name", "\x1b[31mRed\x1b[0m"], "control character (\\x1b)", 2),
    (["patients", "add", "--name", "Ann\u202eLee"], "control character (\\u202e)", 2),
    (["patients", "add", "--name", "x" * 100_000], "100000 characters long; keep it to 200", 2),
    (["patients", "add", "--name", "   "], "must not be empty", 2),
    (["patients", "add", "--name", "Ann", "--condition", "\x07asthma"], "control character", 2),
    (["patients", "add", "--name", "Ann", "--preferred-name", "A\nB"], "control character (\\n)", 2),
    (["patients", "add", "--name", "\udcff\udcfe"], "argument 4 ('\\xff\\xfe') is not valid UTF-8", 2),
    (["users", "add", "drlee", "--name", "\x1b]0;owned\x07", "--password-stdin"], "control character", 2),
    (["notes", "make", "--session", "3", "--pending"], "not both", 1),
    (["notes", "make", "--session", "3", "--patient", "1"], "not both", 1),
    (["seed", "--patients", "-5"], "--patients must be a whole number from 1", 1),
    (["seed", "--patients", "0"], "--patients must be a whole number from 1", 1),
    (["seed", "--turns", "-1"], "--turns must be a whole number from 0", 1),
    (["seed", "--notes", "-1"], "--notes must be a whole number from 0", 1),
    (["--config", "{tmp}", "patients", "list"], "is a folder", 2),
    (["--config", "{tmp}/bad.toml", "patients", "list"], "not valid TOML", 2),
    (["export", "fhir", "-p", "1", "--out", "{tmp}"], "is a folder; give a file name", 1),
    (["export", "fhir", "-p", "1", "--out", "{tmp}/bad.toml/x.json"], "is a file, not a folder", 1),
    (["export", "fhir", "-p", "1", "--out", "{tmp}/bad.toml/sub/x.json"], "cannot create the folder", 1),
    (["talk", "-p", "1", "--in", "q.wav", "--out", "{tmp}"], "is a folder; give a file name", 1),
    (["talk", "-p", "1", "--in", "q.wav", "--out", "{tmp}/bad.toml/sub/r.wav"],
     "cannot create the folder", 1),
    (["talk", "-p", "1", "--in", "q.wav", "--out", "{tmp}/r.wav", "--timeline", "{tmp}"], "--timeline", 1),
    # Read-only commands on a fresh install: nothing to read, and no store made to read it from.
    (["audit", "verify"], "no store yet", 1),
    (["audit", "list"], "no store yet", 1),
    (["patients", "list"], "no store yet", 1),
    (["patients", "show", "1"], "no store yet", 1),
    (["goals", "list", "-p", "1"], "no store yet", 1),
    (["users", "list"], "no store yet", 1),
    (["users", "disable", "drlee"], "no store yet", 1),
    (["export", "fhir", "-p", "1"], "no store yet", 1),
    (["memory", "status", "-p", "1"], "no store yet", 1),
]


@pytest.mark.parametrize(("argv", "message", "code"), REFUSED, ids=lambda v: str(v)[:60])
def test_bad_input_is_refused_with_a_message(coach: Coach, home: Settings, tmp_path: Path,
                                             argv: list[str], message: str, code: int) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "bad.toml").write_text("not toml ===")
    before = _files(scratch)
    result = coach(*[a.replace("{tmp}", str(scratch)) for a in argv])
    assert result.code == code, result.text
    assert message in " ".join(result.err.split()), result.err
    assert _files(home.home) == []  # no store, no key, no folder
    assert _files(scratch) == before


@pytest.mark.parametrize(("env", "message"), [
    ({"COACH_DEVICE": "tpu"}, "device must be auto, cpu, cuda, cuda:N"),
    ({"COACH_LLM_BACKEND": "gpt"}, "llm_backend must be one of"),
    ({"COACH_KB_EMBEDDER": "minilm"}, "kb_embedder must be one of"),
    ({"COACH_LLM_TEMPERATURE": "7"}, "llm_temperature must be from 0 to 2"),
])
def test_bad_settings_are_config_errors(coach: Coach, home: Settings, env: dict[str, str],
                                        message: str) -> None:
    result = coach("patients", "list", env=env)
    assert result.code == 2 and "config error" in result.err
    assert message in " ".join(result.err.split())
    assert _files(home.home) == []


def test_blank_key_is_named_not_called_damage(coach: Coach, home: Settings) -> None:
    fresh = coach("patients", "add", "--name", "Ann", env={"COACH_DB_KEY": "  "})
    assert fresh.code == 1 and "COACH_DB_KEY is set but empty" in fresh.err
    assert _files(home.home) == []  # an empty key would have made an unencrypted store
    assert coach("patients", "add", "--name", "Ann").code == 0
    existing = coach("patients", "list", env={"COACH_DB_KEY": ""})
    assert existing.code == 1 and "set but empty" in existing.err and "restore" not in existing.err


def test_empty_store_file_is_refused_not_restarted(coach: Coach, home: Settings) -> None:
    assert coach("patients", "add", "--name", "Ann").code == 0
    home.db_path.write_bytes(b"")
    for argv in (["patients", "list"], ["patients", "add", "--name", "Bo"]):
        result = coach(*argv)
        assert result.code == 1 and "is empty (0 bytes)" in result.err
        assert "fresh install" in result.err and "backup" in result.err
        assert home.db_path.stat().st_size == 0


def test_stored_text_is_printed_inert(coach: Coach, home: Settings) -> None:
    """Text stored before the entry checks (or by another tool) cannot drive the terminal."""
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        db.add(Patient(name="\x1b[2J\x1b[31mEve[/] [bold]x", conditions=["\x9b31masthma"]))
    store.close()
    for argv in (["patients", "list"], ["patients", "show", "1"]):
        result = coach(*argv)
        assert result.code == 0, result.err
        assert "\x1b" not in result.out and "\x9b" not in result.out
        assert "\\x1b[2J" in result.out and "Eve[/] [bold]x" in result.out


def test_export_is_private_atomic_and_says_it_made_the_folder(coach: Coach, home: Settings,
                                                              tmp_path: Path) -> None:
    assert coach("patients", "add", "--name", "Ann").code == 0
    out = tmp_path / "new" / "ann.fhir.json"
    result = coach("export", "fhir", "-p", "1", "--out", str(out))
    assert result.code == 0, result.err
    assert "created the folder" in result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["resourceType"] == "Bundle"
    out.write_text("old")
    out.chmod(0o644)
    assert coach("export", "fhir", "-p", "1", "--out", str(out)).code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text() != "old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["ann.fhir.json"]  # no temp file left


def test_failed_export_write_keeps_the_old_file_and_no_audit_entry(
        coach: Coach, home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert coach("patients", "add", "--name", "Ann").code == 0
    out = tmp_path / "ann.json"
    out.write_text("previous export")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", full_disk)
        result = coach("export", "fhir", "-p", "1", "--out", str(out))
    assert result.code == 1 and "No space left on device" in result.err
    assert out.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        assert db.scalar(select(AuditEntry).where(AuditEntry.action == "export_fhir")) is None
    store.close()


def _actions(home: Settings) -> list[tuple[str, int | None, str]]:
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        rows = [(e.action, e.patient_id, e.target)
                for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    store.close()
    return rows


def test_cli_reads_of_patient_data_are_audited(coach: Coach, home: Settings, tmp_path: Path) -> None:
    assert coach("patients", "add", "--name", "Ann").code == 0
    for argv in (["patients", "show", "1"], ["goals", "list", "-p", "1"], ["patients", "list"],
                 ["export", "fhir", "-p", "1", "--out", str(tmp_path / "a.json")],
                 ["memory", "status", "-p", "1"], ["audit", "list", "-p", "1"]):
        assert coach(*argv).code == 0, argv
    assert [a[:2] for a in _actions(home)] == [
        ("view_patient", 1), ("list_goals", 1), ("list_patients", None), ("export_fhir", 1),
        ("view_legacy_status", 1), ("list_audit", 1)]
    assert coach("audit", "verify").code == 0


def test_unknown_ids_are_named_and_nothing_is_audited(coach: Coach, home: Settings) -> None:
    assert coach("patients", "add", "--name", "Ann").code == 0
    for argv in (["patients", "show", "42"], ["goals", "list", "-p", "42"], ["memory", "status", "-p", "42"],
                 ["export", "fhir", "-p", "42"], ["goals", "checkin", "42", "--value", "1"]):
        result = coach(*argv)
        assert result.code == 1 and "id 42" in result.err, (argv, result.err)
    assert _actions(home) == []


def test_disable_signs_out_and_enable_lets_back_in(coach: Coach, home: Settings) -> None:
    assert coach("users", "add", "drlee", "--password-stdin", stdin=PASSWORD + "\n").code == 0
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        db.add(WebSession(token_hash="a" * 64, user_id=1, csrf="c" * 64))
    disabled = coach("users", "disable", "drlee")
    assert disabled.code == 0 and "1 open session(s) were ended" in disabled.out
    with store.session() as db:
        assert db.scalar(select(User.active)) is False
        assert db.scalars(select(WebSession)).all() == []
        assert authenticate(db, "drlee", PASSWORD) is None
    again = coach("users", "disable", "drlee")
    assert again.code == 0 and "already disabled" in again.out
    assert coach("users", "enable", "drlee").code == 0
    with store.session() as db:
        assert authenticate(db, "drlee", PASSWORD) is not None
    store.close()
    assert [a for a in _actions(home) if a[0].endswith("_user")] == [
        ("disable_user", None, "user:1"), ("enable_user", None, "user:1")]
    missing = coach("users", "disable", "nobody")
    assert missing.code == 1 and "no user 'nobody'" in missing.err


def test_seed_never_prints_the_password(coach: Coach, home: Settings) -> None:
    plain = coach("seed", "--patients", "1", "--turns", "2", "--notes", "0")
    assert plain.code == 0, plain.err
    assert "password for" not in plain.text and "coach users reset-password seed-clinician" in plain.out
    report = json.loads(coach("seed", "--patients", "1", "--turns", "2", "--notes", "0",
                              "--clinician", "other", "--json").out)
    assert "password" not in report and report["patients"] == 1
    given = coach("seed", "--patients", "1", "--turns", "2", "--notes", "0", "--clinician", "third",
                  "--password-stdin", stdin=PASSWORD + "\n")
    assert given.code == 0 and PASSWORD not in given.text and "reset-password" not in given.out


def test_non_utf8_argument_from_a_real_shell(home: Settings) -> None:
    """Bytes as bash passes `$'\\xff\\xfe'`: Python turns them into surrogates, refused up front."""
    proc = subprocess.run([sys.executable, "-m", "coach.cli", "patients", "add", "--name", b"\xff\xfe"],
                          capture_output=True, env={**os.environ, "COLUMNS": "400"}, timeout=300)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "not valid UTF-8" in err and "Traceback" not in err
    assert not home.db_path.exists()


@pytest.fixture
def shared_home() -> Iterator[Path]:
    """A home another user can reach (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="coach-ro-"))
    path.chmod(0o755)
    yield path
    for p in sorted(path.rglob("*"), reverse=True):
        p.unlink()
    path.rmdir()


def test_read_only_home_is_a_permission_message(home: Settings, shared_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A store the user may read but not write is not "damaged": the message says permissions."""
    monkeypatch.setenv("COACH_DB_KEY", "a passphrase for the test")
    env = {**os.environ, "COACH_HOME": str(shared_home), "COLUMNS": "400"}
    store = open_store(shared_home / "coach.db", shared_home / "db.key")
    with store.session() as db:
        db.add(Patient(name="Ann"))
    store.close()
    for extra in shared_home.glob("coach.db-*"):
        extra.unlink()
    (shared_home / "coach.db").chmod(0o644)
    if os.geteuid() == 0:  # root writes anywhere: run the command as nobody instead
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        prefix = []
        shared_home.chmod(0o555)
        (shared_home / "coach.db").chmod(0o444)
    try:
        proc = subprocess.run([*prefix, sys.executable, "-m", "coach.cli", "patients", "add", "--name", "Bo"],
                              capture_output=True, text=True, env=env, timeout=300)
    finally:
        shared_home.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    assert "permission problem, not a damaged store" in " ".join(proc.stderr.split())
    assert "restore" not in proc.stderr and "Traceback" not in proc.stderr
