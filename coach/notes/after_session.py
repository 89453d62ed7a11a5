"""The note of a session is written once the patient has gone, so the clinician finds it waiting.

A patient should never wait for paperwork: when a conversation ends, the coach starts a
detached `coach notes make` for that patient's ended sessions and returns at once. The
writer survives the patient's process; its output goes to `$COACH_HOME/logs/notes.log`.
Sessions a killed process left behind are closed when the patient next talks to the
coach and are noted by that session's writer; `coach notes make --pending` (from cron)
catches the rest. Two writers racing for one session cannot both store a note: the
store keeps one note per session, and the loser skips it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from coach.config import Settings


def note_log(settings: Settings) -> Path:
    return settings.home / "logs" / "notes.log"


def write_notes_later(settings: Settings, patient_id: int, config_file: Path | None = None) -> Path | None:
    """Start the detached note writer for this patient; returns its log file (None when off)."""
    if settings.notes_after_session == "off":
        return None
    log = note_log(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "coach.cli"]
    if config_file is not None:
        command += ["--config", str(config_file)]
    command += ["notes", "make", "--patient", str(patient_id), "--writer", settings.notes_writer]
    env = {**os.environ, "COACH_HOME": str(settings.home)}
    with log.open("ab") as out:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True, close_fds=True)
    return log
