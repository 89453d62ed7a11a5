import math
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from coach import goals
from coach.cli.main import app
from coach.config import Settings
from coach.errors import USER_ERRORS
from coach.store import Patient, open_store
from coach.store.schema import CheckIn, Goal


def test_daily_and_weekly_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COACH_DB_KEY", raising=False)
    store = open_store(tmp_path / "c.db", tmp_path / "k")
    today = date.today()
    with store.session() as db:
        p = Patient(name="Cy")
        db.add(p)
        db.flush()
        walk = goals.add_goal(db, p.id, "walk after lunch", "minutes walked", 20, "minutes")
        for back, value in ((3, 25), (2, 10), (1, 20)):
            goals.check_in(db, walk, value, today - timedelta(days=back))
        prog = goals.progress(db, walk)
        assert (prog.periods_logged, prog.periods_met, prog.latest_value) == (3, 2, 20)
        assert "target on 2 of the last 3 days" in goals.describe(walk, prog)
        swim = goals.add_goal(db, p.id, "swim", "sessions", 2, period="week")
        goals.check_in(db, swim, 1, today)
        goals.check_in(db, swim, 1, today)
        assert goals.progress(db, swim).periods_met == 1
        assert prog.latest_met and goals.progress(db, swim).latest_met
        # Met once, then short of it: "you've reached your goal" no longer rests on the store.
        goals.check_in(db, walk, 12, today)
        later = goals.progress(db, walk)
        assert later.periods_met == 2 and not later.latest_met
    store.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "month"}, "period must be"),
        ({"target": 0}, "positive"),
        ({"description": " "}, "description"),
        ({"due_date": date(2000, 1, 1)}, "in the past"),
    ],
)
def test_bad_goals_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               kwargs: dict[str, object], message: str) -> None:
    monkeypatch.delenv("COACH_DB_KEY", raising=False)
    store = open_store(tmp_path / "c.db", tmp_path / "k")
    args: dict[str, object] = {"description": "walk", "measure": "minutes", "target": 20}
    args.update(kwargs)
    with store.session() as db, pytest.raises(goals.GoalError, match=message):
        goals.add_goal(db, 1, **args)  # type: ignore[arg-type]
    store.close()


@pytest.mark.parametrize("target", [math.inf, -math.inf, math.nan, 1e309, 2e6, -5, 0, -0.0])
def test_a_target_that_is_not_a_sane_positive_number_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: float) -> None:
    monkeypatch.delenv("COACH_DB_KEY", raising=False)
    store = open_store(tmp_path / "c.db", tmp_path / "k")
    with store.session() as db, pytest.raises(goals.GoalError, match="positive number no larger than"):
        goals.add_goal(db, 1, "walk", "minutes", target)
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(Goal)) == 0
    store.close()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1, 1e7])
def test_a_check_in_that_is_not_a_sane_number_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: float) -> None:
    monkeypatch.delenv("COACH_DB_KEY", raising=False)
    store = open_store(tmp_path / "c.db", tmp_path / "k")
    with store.session() as db:
        p = Patient(name="Cy")
        db.add(p)
        db.flush()
        walk = goals.add_goal(db, p.id, "walk after lunch", "minutes walked", 20, "minutes")
        with pytest.raises(goals.GoalError, match="minutes walked for that day as a number"):
            goals.check_in(db, walk, value)
        assert db.scalar(select(func.count()).select_from(CheckIn)) == 0
        zero = goals.check_in(db, walk, -0.0)  # "-0" is a report of nothing done, shown as 0
        assert zero.value == 0 and math.copysign(1, zero.value) == 1
    store.close()


def _goal_rows(home: Settings) -> tuple[int, int]:
    store = open_store(home.db_path, home.key_path)
    try:
        with store.session() as db:
            return (db.scalar(select(func.count()).select_from(Goal)) or 0,
                    db.scalar(select(func.count()).select_from(CheckIn)) or 0)
    finally:
        store.close()


@pytest.mark.parametrize("target", ["inf", "nan", "1e309", "-5", "0", "-inf", "NaN"])
def test_goals_add_refuses_a_bad_target_and_stores_nothing(home: Settings, target: str) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["patients", "add", "--name", "Tom Hale", "--json"])
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["goals", "add", "-p", "1", "--what", "walk to the gate",
                                 "--measure", "walks", f"--target={target}"])
    # `coach` (main) prints a user error as one line and exits 1; the command tree raises it.
    assert result.exit_code != 0 and isinstance(result.exception, USER_ERRORS), result.output
    assert "positive number no larger than 1,000,000" in str(result.exception)
    assert _goal_rows(home) == (0, 0)


def test_goals_checkin_refuses_nan_and_stores_nothing(home: Settings) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["patients", "add", "--name", "Tom Hale"]).exit_code == 0
    assert runner.invoke(app, ["goals", "add", "-p", "1", "--what", "walk to the gate",
                               "--measure", "walks", "--target", "2"]).exit_code == 0
    for value in ("nan", "inf", "-1"):
        result = runner.invoke(app, ["goals", "checkin", "1", f"--value={value}"])
        assert result.exit_code != 0 and isinstance(result.exception, USER_ERRORS), result.output
        assert "a check-in value must be a number from 0 to 1,000,000" in str(result.exception)
    assert _goal_rows(home) == (1, 0)


def test_the_coach_command_says_what_to_type_instead_of_a_traceback(home: Settings) -> None:
    """The real entry point, as the security probe ran it."""
    coach = [sys.executable, "-m", "coach.cli"]
    subprocess.run([*coach, "patients", "add", "--name", "Tom Hale"], check=True, capture_output=True,
                   env=os.environ.copy())
    proc = subprocess.run([*coach, "goals", "add", "-p", "1", "--what", "walk", "--measure", "walks",
                           "--target", "inf"], capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    said = " ".join(proc.stderr.split())  # rich wraps long lines at the terminal width
    assert said.startswith("error: a goal's target must be") and "not inf" in said and "e.g. 20" in said
    assert _goal_rows(home) == (0, 0)


def test_claims_of_a_goal_reached_are_recognised() -> None:
    from coach.goals import claims_goal_met, says_goal_met

    assert claims_goal_met("You've already reached your goal of walking 20 minutes per day!")
    assert claims_goal_met("Your walking goal is met for the week.")
    assert not claims_goal_met("Two walks in a wet week still count.")
    assert not claims_goal_met("What would help you reach your goal?")
    assert says_goal_met("I hit my target today") and not says_goal_met("I walked today")
