"""`coach patients ...` and `coach goals ...`: profiles and SMART goals."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from coach import goals as goals_mod
from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.options import NAME_CHARS, PatientId, id_argument, text_option
from coach.cli.text import shown
from coach.store import audit
from coach.store.schema import Goal, Patient

patients_app = typer.Typer(help="Add, list and show patient profiles.", no_args_is_help=True)
goals_app = typer.Typer(help="SMART goals and check-ins.", no_args_is_help=True)

AGE_BANDS = ("", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+")
Multi = Annotated[list[str] | None, text_option(help="Repeat for several.", max_chars=NAME_CHARS)]
PatientOpt = PatientId


def patient_dict(p: Patient) -> dict[str, object]:
    return {
        "id": p.id, "name": p.name, "preferred_name": p.preferred_name, "age_band": p.age_band,
        "conditions": p.conditions, "medications": p.medications, "allergies": p.allergies,
        "goals": p.goals_text, "preferences": p.preferences, "language": p.language,
        "created_at": p.created_at.isoformat(timespec="seconds"),
    }


@patients_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, text_option("--name", help=f"Full name (up to {NAME_CHARS} characters).",
                                     max_chars=NAME_CHARS, required=True)],
    preferred_name: Annotated[str, text_option("--preferred-name", help="What the coach calls them.",
                                               max_chars=NAME_CHARS)] = "",
    age_band: Annotated[str, typer.Option(help=f"One of {', '.join(AGE_BANDS[1:])}.")] = "",
    condition: Multi = None,
    medication: Multi = None,
    allergy: Multi = None,
    goals: Annotated[str, text_option("--goals", help="What matters to them, in their words.")] = "",
    preferences: Annotated[str, text_option("--preferences", help="How they like to be coached.")] = "",
    language: Annotated[str, text_option("--language", help="Preferred language code.",
                                         max_chars=35)] = "en",
    as_json: JsonOpt = False,
) -> None:
    """Add a patient and print their id.

    Example:

      coach patients add --name "Margaret Evans" --preferred-name Maggie --age-band 70-79 \\
        --condition hypertension --condition "type 2 diabetes" --medication metformin \\
        --allergy penicillin --goals "walk to the shops again"
    """
    if not name.strip():
        fail("--name must not be empty")
    if age_band not in AGE_BANDS:
        fail(f"--age-band must be one of {', '.join(AGE_BANDS[1:])}, not {age_band!r}")
    def clean(xs: list[str] | None) -> list[str]:
        return [x.strip() for x in xs or [] if x.strip()]

    with ctx.obj.store.session() as db:
        patient = Patient(name=name.strip(), preferred_name=preferred_name.strip(),
                          age_band=age_band, conditions=clean(condition),
                          medications=clean(medication), allergies=clean(allergy),
                          goals_text=goals.strip(), preferences=preferences.strip(),
                          language=language.strip() or "en")
        db.add(patient)
        db.flush()
        data = patient_dict(patient)
    if as_json:
        print_json(data)
    else:
        console.print(f"added patient [bold]{data['id']}[/]: {shown(data['name'])}", highlight=False)


@patients_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List patients.

    Example:

      coach patients list --json
    """
    with ctx.obj.existing_store.session() as db:
        rows = [patient_dict(p) for p in db.scalars(select(Patient).order_by(Patient.id))]
        audit.record(db, "cli", "list_patients", detail=f"{len(rows)} patients")
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no patients yet; add one with `coach patients add --name ...`")
        return
    table = Table("id", "name", "age", "conditions")
    for r in rows:
        table.add_row(str(r["id"]), shown(r["name"]), shown(r["age_band"]),
                      shown(", ".join(r["conditions"])))  # type: ignore[arg-type]
    console.print(table)


def _get_patient(db: Session, patient_id: int) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        fail(f"no patient with id {patient_id}; see `coach patients list`")
    return patient


@patients_app.command("show")
def show(ctx: typer.Context, patient_id: Annotated[int, id_argument(help="Patient id.")],
         as_json: JsonOpt = False) -> None:
    """Show one patient's profile, goals and recent sessions.

    Example:

      coach patients show 1
    """
    from coach.memory import memory_lines

    with ctx.obj.existing_store.session() as db:
        patient = _get_patient(db, patient_id)
        audit.record(db, "cli", "view_patient", patient_id=patient_id, target=f"patient:{patient_id}")
        data = patient_dict(patient)
        data["smart_goals"] = [goals_mod.describe(g, goals_mod.progress(db, g))
                               for g in patient.goals if g.status == "active"]
        data["recent_sessions"] = memory_lines(db, patient_id)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, list):
            value = "\n  ".join(["", *map(shown, value)]) if value else "-"
        else:
            value = shown(value)
        console.print(f"[bold]{key:<16}[/] {value}", highlight=False)


@goals_app.command("add")
def goal_add(
    ctx: typer.Context,
    patient: PatientOpt,
    what: Annotated[str, text_option("--what", help="The specific action, e.g. 'walk after lunch'.",
                                     max_chars=NAME_CHARS)],
    measure: Annotated[str, text_option("--measure", help="What is counted, e.g. 'minutes walked'.",
                                        max_chars=NAME_CHARS)],
    target: Annotated[float, typer.Option(help="The number to reach each period.")],
    unit: Annotated[str, text_option("--unit", help="Unit of the target, e.g. minutes.",
                                     max_chars=40)] = "",
    per: Annotated[str, typer.Option(help="day or week.")] = "day",
    by: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add a SMART goal.

    Example:

      coach goals add -p 1 --what "walk after lunch" --measure "minutes walked" \\
        --target 20 --unit minutes --per day --by 2027-01-31
    """
    try:
        due = date.fromisoformat(by) if by else None
    except ValueError:
        fail(f"--by must be a date like 2027-01-31, not {by!r}")
    with ctx.obj.store.session() as db:
        _get_patient(db, patient)
        goal = goals_mod.add_goal(db, patient, what, measure, target, unit, per, due)
        line = goals_mod.describe(goal, goals_mod.progress(db, goal))
        goal_id = goal.id
    if as_json:
        print_json({"id": goal_id, "goal": line})
    else:
        console.print(f"added goal [bold]{goal_id}[/]: {shown(line)}", highlight=False)


@goals_app.command("list")
def goal_list(ctx: typer.Context, patient: PatientOpt, as_json: JsonOpt = False) -> None:
    """List a patient's goals with their progress.

    Example:

      coach goals list -p 1
    """
    with ctx.obj.existing_store.session() as db:
        _get_patient(db, patient)
        audit.record(db, "cli", "list_goals", patient_id=patient, target=f"patient:{patient}")
        goals = db.scalars(select(Goal).where(Goal.patient_id == patient).order_by(Goal.id)).all()
        rows = []
        for g in goals:
            prog = goals_mod.progress(db, g)
            rows.append({"id": g.id, "status": g.status, "goal": goals_mod.describe(g, prog),
                         "periods_logged": prog.periods_logged, "periods_met": prog.periods_met})
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no goals yet; add one with `coach goals add`")
    for r in rows:
        console.print(f"[bold]{r['id']}[/] \\[{r['status']}] {shown(r['goal'])}", highlight=False)


@goals_app.command("checkin")
def goal_checkin(
    ctx: typer.Context,
    goal_id: Annotated[int, id_argument(help="Goal id.")],
    value: Annotated[float, typer.Option(help="What the patient did, in the goal's unit.")],
    day: Annotated[str, typer.Option(help="YYYY-MM-DD (default today).")] = "",
    note: Annotated[str, text_option("--note", help="Anything the patient added.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record a check-in against a goal.

    Example:

      coach goals checkin 1 --value 15 --note "knees sore"
    """
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        fail(f"--day must be a date like 2026-11-21, not {day!r}")
    with ctx.obj.store.session() as db:
        goal = db.get(Goal, goal_id)
        if goal is None:
            fail(f"no goal with id {goal_id}; see `coach goals list -p PATIENT`")
        goals_mod.check_in(db, goal, value, when, note)
        line = goals_mod.describe(goal, goals_mod.progress(db, goal))
    if as_json:
        print_json({"goal_id": goal_id, "goal": line})
    else:
        console.print(f"checked in: {shown(line)}", highlight=False)
