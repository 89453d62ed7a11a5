"""Option types shared by the commands, so one kind of bad input gets one kind of answer.

Click parses `99999999999999999999` as a perfectly good Python int; SQLite cannot
hold it and the driver raises OverflowError deep inside a query. Ids are checked
here, at the edge, with a message that names the option; so is free text that is
about to be stored (valid UTF-8, no control characters, a sane length).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from coach.cli.text import problem_in

MAX_ID = 2**63 - 1
"""SQLite's largest integer: no row can have a bigger id."""

NAME_CHARS = 200
"""Longer than any real name; short enough to print in a table row."""

TEXT_CHARS = 2000
"""For a sentence or two in the patient's words (goals, preferences)."""


def check_ids(value: Any) -> Any:
    """Callback for id options and arguments (single, optional or repeated)."""
    for v in value if isinstance(value, list | tuple) else [value]:
        if v is not None and not 1 <= v <= MAX_ID:
            raise typer.BadParameter(
                f"{v} cannot be an id or number here: they run from 1 to {MAX_ID}; "
                "look the right one up (e.g. `coach patients list`)")
    return value


def id_option(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, callback=check_ids)


def id_argument(help: str) -> Any:
    return typer.Argument(help=help, callback=check_ids)


PatientId = Annotated[int, id_option("--patient", "-p", help="Patient id (see `coach patients list`).")]
OptionalPatientId = Annotated[int | None, id_option("--patient", "-p", help="Patient id.")]


def text_check(max_chars: int, *, required: bool = False) -> Callable[[Any], Any]:
    """A callback refusing text that cannot be stored or printed safely (str or repeated str)."""

    def check(value: Any) -> Any:
        for v in value if isinstance(value, list | tuple) else [value]:
            if v is None:
                continue
            if required and not v.strip():
                raise typer.BadParameter("it must not be empty")
            problem = problem_in(v, max_chars)
            if problem is not None:
                raise typer.BadParameter(problem)
        return value

    return check


def text_option(*names: str, help: str, max_chars: int = TEXT_CHARS, required: bool = False) -> Any:
    return typer.Option(*names, help=help, callback=text_check(max_chars, required=required))
