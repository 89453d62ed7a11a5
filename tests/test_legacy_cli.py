"""`coach memory ...` as a person runs it: real processes, a real kill, the real store file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from coach.config import Settings
from coach.store import Turn, open_store
from coach.store.legacy import LegacyInterview

pytestmark = pytest.mark.slow  # the real triage model (mpnet) judges every answer

COACH = [sys.executable, "-m", "coach.cli"]


def run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*COACH, *args], input=stdin, capture_output=True, text=True, timeout=300,
                          env=os.environ.copy())
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _state(home: Settings) -> tuple[int, str, list[str]]:
    store = open_store(home.db_path, home.key_path)
    try:
        with store.session() as db:
            interview = db.scalars(select(LegacyInterview)).one()
            said = [t.text for t in db.scalars(select(Turn).where(Turn.role == "patient").order_by(Turn.id))]
            return interview.question_index, interview.stage, said
    finally:
        store.close()


def test_every_memory_command_has_help_with_examples() -> None:
    from typer.testing import CliRunner

    from coach.cli.main import app

    for cmd in (["memory", "start"], ["memory", "resume"], ["memory", "document"], ["memory", "export"],
                ["memory", "withdraw"], ["memory", "status"], ["bench", "memory"]):
        result = CliRunner().invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, cmd


def test_a_killed_session_loses_only_the_answer_in_progress_and_resumes(home: Settings,
                                                                        tmp_path: Path) -> None:
    pid = str(json.loads(run("patients", "add", "--name", "Edith Marlow", "--json").stdout)["id"])
    refused = run("memory", "start", "-p", pid, stdin="I was born in Leeds.\n", ok=False)
    assert refused.returncode == 1 and "consent is needed first" in refused.stderr
    proc = subprocess.Popen([*COACH, "memory", "start", "-p", pid, "--consent", "--proxy", "Susan Marlow"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("Um, I was born in Leeds in 1938, in a house on Harehills Lane, you know.\n")
    proc.stdin.flush()
    deadline = time.time() + 120
    seen = ""
    while "You mentioned" not in seen and time.time() < deadline:
        seen += proc.stdout.readline()
    assert "You mentioned Leeds" in seen
    proc.stdin.write("My father drove the trams and my mother took in sew")  # mid-answer...
    proc.stdin.flush()
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)                                          # ...killed
    proc.wait(timeout=30)
    index, stage, said = _state(home)
    assert (index, stage) == (0, "followup") and said == [
        "Um, I was born in Leeds in 1938, in a house on Harehills Lane, you know."]

    out = run("memory", "resume", "-p", pid,
              stdin="My father drove the trams and my mother took in sewing.\n/pause\n").stdout
    assert "Welcome back" in out and "You mentioned Leeds" in out  # the open follow-up, asked again
    assert "anything about you that you would like your family to know" in out
    index, stage, said = _state(home)
    assert (index, stage) == (1, "prompt") and len(said) == 2

    status = json.loads(run("memory", "status", "-p", pid, "--json").stdout)
    assert status["status"] == "paused" and status["sittings"] == 2 and "content" not in status
    document = json.loads(run("memory", "document", "-p", pid, "--titles", "protocol", "--json").stdout)
    assert document["status"] == "draft" and document["check"]["finished"] is False
    assert all(p["source_turn_ids"] for p in document["paragraphs"])
    assert "Leeds in 1938" in document["paragraphs"][0]["text"]

    out_dir = tmp_path / "keepsake"
    refused = run("memory", "export", "-p", pid, "--out", str(out_dir), ok=False)
    assert refused.returncode == 1 and "not approved" in refused.stderr and not out_dir.exists()
    wrong = run("memory", "document", "-p", pid, "--approve", "--by", "Someone Else", ok=False)
    assert wrong.returncode == 1 and "only Edith Marlow or their named proxy Susan Marlow" in wrong.stderr
    approved = json.loads(run("memory", "document", "-p", pid, "--approve", "--by", "Susan Marlow",
                              "--json").stdout)
    assert approved["status"] == "approved" and approved["approved_by"] == "Susan Marlow"
    files = json.loads(run("memory", "export", "-p", pid, "--out", str(out_dir), "--json").stdout)
    assert Path(files["pdf"]).read_bytes().startswith(b"%PDF")
    assert "Harehills Lane" in Path(files["markdown"]).read_text(encoding="utf-8")

    locked = run("memory", "withdraw", "-p", pid, "--lock").stdout
    assert "locked" in locked
    again = run("memory", "export", "-p", pid, "--out", str(tmp_path / "again"), ok=False)
    assert again.returncode == 1 and "locked" in again.stderr and "Traceback" not in again.stderr
