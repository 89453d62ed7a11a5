"""The `coach` command as a user runs it: real processes, real models, real database file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from coach.config import Settings

pytestmark = pytest.mark.slow

COACH = [sys.executable, "-m", "coach.cli"]


def run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*COACH, *args], input=stdin, capture_output=True, text=True,
                          timeout=600, env=os.environ.copy())
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "ERROR CORE" not in proc.stderr, proc.stderr  # SQLCipher's own log stays quiet
    return proc


def test_every_command_has_help_with_examples() -> None:
    for cmd in (["models"], ["doctor"], ["triage"], ["chat"], ["demo"], ["patients", "add"],
                ["patients", "list"], ["patients", "show"], ["goals", "add"], ["goals", "checkin"],
                ["bench", "llm"], ["bench", "triage"], ["kb", "build"], ["kb", "search"],
                ["kb", "stats"], ["kb", "eval"], ["transcribe"], ["talk"]):
        out = run(*cmd, "--help").stdout
        assert "Example" in out, cmd


def test_triage_json(home: Settings) -> None:
    out = json.loads(run("triage", "I've been giving away my things", "--json").stdout)
    assert out["category"] == "crisis" and out["reason"]
    out = json.loads(run("triage", "this workout is killing me", "--json").stdout)
    assert out["category"] == "none"


def test_patients_and_goals_round_trip(home: Settings) -> None:
    added = json.loads(run("patients", "add", "--name", "Tom Hale", "--age-band", "60-69",
                           "--condition", "COPD", "--medication", "tiotropium", "--json").stdout)
    pid = str(added["id"])
    goal = json.loads(run("goals", "add", "-p", pid, "--what", "walk to the gate",
                          "--measure", "walks", "--target", "2", "--json").stdout)
    run("goals", "checkin", str(goal["id"]), "--value", "2")
    shown = json.loads(run("patients", "show", pid, "--json").stdout)
    assert shown["conditions"] == ["COPD"] and "target on 1 of the last 1" in shown["smart_goals"][0]
    listed = json.loads(run("patients", "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["Tom Hale"]


def test_user_errors_are_messages_not_tracebacks(home: Settings) -> None:
    fresh = run("patients", "show", "42", ok=False)  # a read makes no store to read from
    assert "no store yet" in fresh.stderr and not home.db_path.exists()
    assert "--age-band must be" in run("patients", "add", "--name", "X", "--age-band", "old",
                                        ok=False).stderr
    run("patients", "add", "--name", "Keyed")
    assert "no patient with id 42" in run("patients", "show", "42", ok=False).stderr
    env_key = {"COACH_DB_KEY": "0" * 64}
    os.environ.update(env_key)
    try:
        err = run("patients", "list", ok=False)
    finally:
        del os.environ["COACH_DB_KEY"]
    assert err.returncode == 1 and "key is wrong" in err.stderr
    huge = run("triage", "word " * 3000, ok=False)
    assert huge.returncode == 1 and "shorter parts" in huge.stderr
    home.db_path.write_bytes(b"\0" * 4096)
    assert "damaged" in run("patients", "list", ok=False).stderr


def test_chat_reads_stdin_and_streams(home: Settings) -> None:
    pid = str(json.loads(run("patients", "add", "--name", "Ida", "--json").stdout)["id"])
    out = run("chat", "--patient", pid, "--model", "smollm2-135m",
              stdin="I walked for ten minutes today\nI want to end my life\n").stdout
    assert "Sam:" in out and "988" in out and "flagged" in out


def test_killing_chat_mid_reply_loses_no_earlier_turn(home: Settings) -> None:
    pid = str(json.loads(run("patients", "add", "--name", "Kim", "--json").stdout)["id"])
    proc = subprocess.Popen(
        [*COACH, "chat", "--patient", pid, "--model", "qwen2.5-1.5b"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COACH_LLM_MAX_TOKENS": "400"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("I want to end my life\n")  # fixed reply, stored at once
    proc.stdin.write("Tell me, in detail, how to build a weekly walking plan.\n")
    proc.stdin.flush()
    deadline = time.time() + 300
    seen = ""
    while "Sam:" not in seen.split("988", 1)[-1] and time.time() < deadline:
        seen += proc.stdout.readline()
    time.sleep(1.0)  # now mid-way through the model's reply
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    out = json.loads(run("patients", "show", pid, "--json").stdout)
    # The killed session was closed on the next open; its patient turns are in its summary.
    assert any("end my life" in s and "walking plan" in s for s in out["recent_sessions"])
    from coach.store import Turn, open_store

    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        texts = [(t.role, t.source) for t in db.query(Turn).order_by(Turn.id)]
    store.close()
    assert texts[:3] == [("patient", ""), ("coach", "crisis-v1"), ("patient", "")]


def test_notes_are_written_after_the_conversation_ends(home: Settings) -> None:
    from coach.notes.after_session import note_log
    from coach.store import CoachSession, Turn, open_store
    from coach.store.clinical import Note

    pid = json.loads(run("patients", "add", "--name", "Lou", "--json").stdout)["id"]
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:  # a session a killed process left open
        killed = CoachSession(patient_id=pid)
        db.add(killed)
        db.flush()
        db.add(Turn(session_id=killed.id, idx=0, role="patient", text="My weight was 82 kg on Sunday."))
        killed_id = killed.id
    os.environ.update(COACH_NOTES_AFTER_SESSION="background", COACH_NOTES_WRITER="extractive")
    try:
        out = run("chat", "--patient", str(pid), "--model", "smollm2-135m",
                  stdin="I did 6,000 steps on Monday.\n").stdout
    finally:
        del os.environ["COACH_NOTES_AFTER_SESSION"], os.environ["COACH_NOTES_WRITER"]
    assert "being written in the background" in out  # and chat returned without waiting for it
    deadline, notes = time.time() + 300, []
    while len(notes) < 2 and time.time() < deadline:
        time.sleep(2)
        with store.session() as db:
            notes = [(n.session_id, [s.text for s in n.statements]) for n in db.query(Note).order_by(Note.id)]
    log = note_log(home).read_text()
    store.close()
    assert len(notes) == 2, log
    assert notes[0][0] == killed_id and any("82 kg" in s for s in notes[0][1])
    assert any("6,000" in s for s in notes[1][1]), notes
    assert "Traceback" not in log
    # nothing left to do, and saying so is not an error
    assert "every ended session has a note" in run("notes", "make", "--patient", str(pid)).stdout


def test_models_and_doctor_json(home: Settings) -> None:
    rows = json.loads(run("models", "--list", "--json").stdout)
    assert {r["name"] for r in rows} >= {"qwen2.5-1.5b", "smollm2-135m", "whisper-base",
                                          "whisper-tiny.en", "piper-joe", "minilm-l6",
                                          "mpnet-base"}
    assert all(r["ready"] for r in rows)
    report = json.loads(run("doctor", "--json").stdout)
    assert report["ready"] is True
    assert report["machine"]["cpus"] >= 1 and "openxr" in report


def test_kb_build_search_stats_and_a_broken_article(home: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from knowledge.index import ARTICLES_DIR

    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("sleep-basics.md", "salt-cutting-down.md", "bp-home-measuring.md"):
        shutil.copy(ARTICLES_DIR / name, articles)
    os.environ["COACH_ARTICLES_PATH"] = str(articles)
    try:
        built = json.loads(run("kb", "build", "--json").stdout)
        assert built["articles"] == 3 and built["embedded"] == built["passages"]
        found = json.loads(run("kb", "search", "how much salt is too much", "--json").stdout)
        assert found["relevant"] and found["hits"][0]["passage"].startswith("salt-cutting-down")
        stats = json.loads(run("kb", "stats", "--json").stdout)
        assert stats["articles"] == 3 and stats["grade_median"] <= 8

        (articles / "broken.md").write_text("---\nid: broken\ntitle: x\n---\n\nbody")
        failed = run("kb", "build", ok=False)
        assert failed.returncode == 1
        assert "broken.md" in failed.stderr and "previous index is unchanged" in failed.stderr
        # the old index still answers, with a warning-free search
        again = json.loads(run("kb", "search", "salty food", "--json").stdout)
        assert again["hits"]

        empty = run("kb", "search", "   ", ok=False)
        assert empty.returncode == 1 and "empty" in empty.stderr
    finally:
        del os.environ["COACH_ARTICLES_PATH"]
