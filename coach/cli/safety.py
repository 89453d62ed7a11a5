"""`coach triage`: probe the safety triage with any sentence."""

from __future__ import annotations

from typing import Annotated

import typer

from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.text import shown


def triage(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What a patient might say.")],
    as_json: JsonOpt = False,
) -> None:
    """Classify a message as crisis, emergency, out_of_scope or none, and say why.

    Examples:

      coach triage "I've been giving away my things"
      coach triage "this workout is killing me" --json
    """
    if not text.strip():
        fail("give the text to classify, e.g. coach triage \"my chest feels tight\"")
    result = ctx.obj.triage(text)
    if as_json:
        print_json(result.as_json())
        return
    colour = {"crisis": "red", "emergency": "red", "out_of_scope": "yellow"}.get(
        result.category.value, "green")
    label = result.category.value + (" (check-in question)" if result.check_in else "")
    console.print(f"[bold {colour}]{label}[/]  {shown(result.reason)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(triage)
