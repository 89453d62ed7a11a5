"""The clinician's end of `make demo`: an account, the demo patient assigned, the notes written.

Called once at the end of the demo. It never starts the server (that would block the
demo); it prints the command and the sign-in to use. The password is generated on
every run and printed, because a fixed demo password would end up on real installs.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from rich.console import Console
from sqlalchemy import select

from coach.llm.base import LanguageModel, LLMError
from coach.notes.make import make_note_in
from coach.notes.service import open_embedder, sessions_without_note
from coach.store.accounts import add_user, assign, reset_password
from coach.store.clinical import User

if TYPE_CHECKING:
    from coach.cli.context import Context

DEMO_CLINICIAN = "demo-clinician"
DEMO_URL = "http://127.0.0.1:8765/"


def clinician_demo(context: Context, patient_id: int, console: Console, use_model: bool = True) -> str:
    """Set up the demo clinician and the notes; returns the generated password."""
    password = secrets.token_urlsafe(12)
    with context.store.session() as db:
        user = db.scalar(select(User).where(User.username == DEMO_CLINICIAN))
        if user is None:
            user = add_user(db, DEMO_CLINICIAN, password, "clinician", "Demo clinician")
        else:
            reset_password(db, DEMO_CLINICIAN, password)
        assign(db, user, patient_id)
        pending = sessions_without_note(db, patient_id)
    embedder = open_embedder(context.settings)
    loaded: list[LanguageModel] = []

    def model() -> LanguageModel:
        if not loaded:
            loaded.append(context.open_model())
        return loaded[0]

    console.rule("clinician review: the notes of these sessions")
    for session_id in pending:
        try:
            result = make_note_in(context.store, session_id, embedder, model if use_model else None,
                                  actor="demo")
        except LLMError as exc:
            console.print(f"[yellow]the language model failed ({exc}); writing an extractive note[/]")
            result = make_note_in(context.store, session_id, embedder, None, actor="demo")
        console.print(f"session {session_id}: note with {len(result.shown)} checked statements, "
                      f"{len(result.readings)} readings, {len(result.dropped)} unsupported statements "
                      "dropped", highlight=False)
        for statement in result.shown[:6]:
            console.print(f"[dim]  - {statement.text}[/]", highlight=False)
    for m in loaded:
        m.close()
    console.print(f"Run [bold]coach serve[/] and open {DEMO_URL}", highlight=False)
    console.print(f"Sign in as [bold]{DEMO_CLINICIAN}[/] with password [bold]{password}[/] "
                  "(new each demo run; change it with `coach users reset-password demo-clinician`)",
                  highlight=False)
    return password
