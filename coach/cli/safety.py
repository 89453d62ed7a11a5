"""`coach triage`: probe the safety triage with any sentence."""

from __future__ import annotations

from typing import Annotated

import typer

from coach.cli.main import JsonOpt, console, fail, print_json


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
        print_json({"category": result.category.value, "reason": result.reason,
                    "subtype": result.subtype, "source": result.source,
                    "scores": {k: round(v, 4) for k, v in result.scores.items()}})
        return
    colour = {"crisis": "red", "emergency": "red", "out_of_scope": "yellow"}.get(
        result.category.value, "green")
    console.print(f"[bold {colour}]{result.category.value}[/]  {result.reason}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(triage)
