from datetime import date, timedelta
from pathlib import Path

import pytest

from coach import goals
from coach.store import Patient, open_store


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
