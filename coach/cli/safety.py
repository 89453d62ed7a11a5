"""`coach triage`: probe the safety triage with any sentence."""

from __future__ import annotations

from typing import Annotated

import typer

from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.text import shown
from coach.safety.setting import Setting


def triage(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What a patient might say.")],
    after: Annotated[str, typer.Option(
        help="The coach's question the message answers (triage reads the two together).")] = "",
    memory: Annotated[int, typer.Option(
        help="Read it as the answer to memory-session question 1-9 (0: a coaching message).",
        min=0, max=9)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Classify a message as crisis, emergency, out_of_scope or none, and say why.

    Examples:

      coach triage "I've been giving away my things"
      coach triage "this workout is killing me" --json
      coach triage "my ring goes to Ellie when I'm gone" --memory 8
      coach triage "not really" --after "Did you manage a walk this week?"
    """
    if not text.strip():
        fail("give the text to classify, e.g. coach triage \"my chest feels tight\"")
    if after and memory:
        fail("give --after (a coaching question) or --memory (a memory-session question), not both")
    result = ctx.obj.triage(text, Setting(question=after, memory=memory))
    if as_json:
        print_json(result.as_json())
        return
    colour = {"crisis": "red", "emergency": "red", "out_of_scope": "yellow"}.get(
        result.category.value, "green")
    label = result.category.value + (" (check-in question)" if result.check_in else "")
    console.print(f"[bold {colour}]{label}[/]  {shown(result.reason)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(triage)
