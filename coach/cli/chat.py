"""`coach chat` (interactive or piped) and `coach demo` (a scripted sample session)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated

import typer

from coach.cli.context import Context
from coach.cli.main import console, err_console
from coach.cli.options import PatientId
from coach.cli.text import shown
from coach.conversation import Conversation
from coach.grounding import NO_INFO_REPLY_ID
from coach.safety import Category
from coach.safety.normalise import mend

BackendOpt = Annotated[str | None, typer.Option("--backend",
                       help="llamacpp, transformers or openai (overrides config).")]
ModelOpt = Annotated[str | None, typer.Option("--model",
                     help="Bundled model name or a path to a GGUF file / model folder.")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="OpenAI-compatible server base URL.")]

_QUIT = {"/quit", "/exit", "/bye", "quit", "exit"}


def _lines(interactive: bool) -> Iterator[str]:
    if isinstance(sys.stdin, io.TextIOWrapper):
        # Invalid UTF-8 (a mis-set terminal, a pasted binary) must not end the session
        # with a traceback: the line is kept with U+FFFD where the bad bytes were.
        sys.stdin.reconfigure(errors="replace")
    while True:
        try:
            line = console.input("[bold cyan]You:[/] ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and line == "":
            return
        # A surrogate-escaped stdin (POSIX locale) gives lone surrogates, which neither
        # the terminal nor the store can encode.
        line = mend(line).strip()
        if not line:
            continue
        if line.lower() in _QUIT:
            return
        if not interactive:
            console.print(f"[bold cyan]You:[/] {shown(line)}", highlight=False)
        yield line


def run_conversation(conv: Conversation, messages: Iterable[str], show_triage: bool) -> None:
    for text in messages:
        console.print("[bold green]Sam:[/] ", end="")
        for sentence in conv.reply(text):
            console.print(shown(sentence) + " ", end="", highlight=False, soft_wrap=True)
            console.file.flush()
        console.print()
        last = conv.last
        if last is None:
            continue
        if show_triage or last.triage.category is not Category.NONE:
            style = "red" if last.triage.category.flags_clinician else "dim"
            flagged = "  \\[flagged for the care team]" if last.flag_id else ""
            console.print(f"[{style}]  triage: {last.triage.category.value}{flagged}[/]",
                          highlight=False)
        for source in last.sources:
            console.print(f"[dim]  \\[{source['n']}] {shown(source['title'])}: {shown(source['section'])}[/]",
                          highlight=False)
        if last.source == NO_INFO_REPLY_ID:
            console.print("[dim]  nothing in the reviewed articles answers this[/]")
        if last.blocked:
            console.print("[yellow]  output check replaced a sentence that gave medical "
                          "instructions[/]")
        if last.dropped:
            console.print(f"[dim]  citation check dropped {len(last.dropped)} unsupported "
                          f"sentence(s)[/]")


def _open(ctx: typer.Context, patient: int, backend: str | None, model: str | None,
          url: str | None) -> Conversation:
    context: Context = ctx.obj.with_llm(llm_backend=backend, llm_model=model, llm_url=url)
    return Conversation(context.store, patient, context.triage, context.open_model,
                        context.generation, context.settings.locale, warm=True,
                        knowledge=context.knowledge)


def audit_conversation(context: Context, conv: Conversation, action: str = "open_conversation") -> None:
    """Opening a conversation reads the patient's profile, goals and past sessions into the
    prompt, so it is a read of patient data like any other and goes in the audit log."""
    from coach.store import audit

    with context.store.session() as db:
        audit.record(db, "cli", action, patient_id=conv.patient_id, target=f"session:{conv.session_id}")


def note_later(context: Context, patient_id: int, quiet: bool = False) -> None:
    """After a conversation: the care team's note is written by a detached process."""
    try:
        log = context.write_notes_later(patient_id)
    except OSError as exc:  # never lose the goodbye over paperwork; `notes make --pending` catches up
        err_console.print(f"[yellow]the session note could not be started ({exc}); "
                          "run `coach notes make --pending`[/]", highlight=False)
        return
    if log is not None and not quiet:
        console.print(f"[dim]The note for the care team is being written in the background (log: {log}).[/]",
                      highlight=False)


def chat(
    ctx: typer.Context,
    patient: PatientId,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    url: UrlOpt = None,
    show_triage: Annotated[bool, typer.Option(help="Print the triage outcome of every turn.")] = False,
) -> None:
    """Talk with the coach as a patient. Reads stdin when it is not a terminal.

    Type /quit (or press Ctrl-D) to end; the session summary is saved for next time.

    Examples:

      coach chat --patient 1
      printf 'I walked 20 minutes today\\n' | coach chat --patient 1
      coach chat -p 1 --backend openai --url http://127.0.0.1:8000/v1
    """
    conv = _open(ctx, patient, backend, model, url)
    interactive = sys.stdin.isatty()
    if interactive:
        console.print(f"Talking with the coach as {shown(conv.patient_name)}. /quit to end.",
                      highlight=False)
    try:
        audit_conversation(ctx.obj, conv)
        run_conversation(conv, _lines(interactive), show_triage)
    finally:
        conv.close()
        note_later(ctx.obj, patient)


def demo(
    ctx: typer.Context,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    url: UrlOpt = None,
    spoken: Annotated[bool, typer.Option(help="Also answer a recorded question aloud.")] = True,
) -> None:
    """Run a short scripted conversation for the sample patient, streaming the replies,
    then answer a shipped recording of a question with a spoken reply (wav + timeline).

    Example:

      coach demo
      coach demo --model smollm2-135m     # fast, but incoherent: tests only
      coach demo --no-spoken              # text only
    """
    from coach.demo import SCRIPT, ensure_demo_patient

    with ctx.obj.store.session() as db:
        patient_id = ensure_demo_patient(db).id
    conv = _open(ctx, patient_id, backend, model, url)
    console.rule(f"demo: {shown(conv.patient_name)} talks with the coach "
                 f"({ctx.obj.with_llm(llm_model=model).settings.llm_model})")
    try:
        run_conversation(conv, _echo(SCRIPT), show_triage=True)
    finally:
        conv.close()
    settings = ctx.obj.settings
    if spoken:
        _spoken_demo(ctx, patient_id, backend, model, url)
    from coach.cli.legacy import memory_demo
    memory_demo(ctx, patient_id, backend, model, url)
    console.rule()
    console.print(f"Saved (encrypted) in {settings.db_path}. "
                  f"See it with: coach patients show {patient_id}")
    from coach.cli.avatar import demo_reply_video
    demo_reply_video(ctx)
    from coach.web.demo import clinician_demo

    clinician_demo(ctx.obj.with_llm(llm_backend=backend, llm_model=model, llm_url=url), patient_id, console)


def _spoken_demo(ctx: typer.Context, patient_id: int, backend: str | None, model: str | None,
                 url: str | None) -> None:
    """A shipped recording of Maggie's question, answered aloud, with the avatar's timeline."""
    import json

    from avatar.voice import write_wav
    from coach.voice.turn import DEMO_QUESTION, spoken_turn

    context: Context = ctx.obj.with_llm(llm_backend=backend, llm_model=model, llm_url=url)
    settings = context.settings
    console.rule("spoken turn: a recorded question, a spoken reply")
    transcriber = context.open_transcriber()
    voice = context.open_voice()
    conv = _open(ctx, patient_id, backend, model, url)
    try:
        turn = spoken_turn(conv, transcriber, voice, DEMO_QUESTION)
    finally:
        conv.close()
    out = settings.home / "demo" / "reply.wav"
    seconds = write_wav(out, turn.sentences, voice.sample_rate)
    (out.with_suffix(".json")).write_text(json.dumps(turn.timeline(), indent=1), encoding="utf-8")
    console.print(f"[bold cyan]Maggie (recording):[/] {shown(turn.transcript.text)}", highlight=False)
    console.print(f"[bold green]Sam (spoken):[/] {shown(' '.join(s.text for s in turn.sentences))}",
                  highlight=False)
    if turn.outcome is not None:
        for source in turn.outcome.sources:
            console.print(f"[dim]  \\[{source['n']}] {source['title']}: {source['section']}[/]",
                          highlight=False)
    phonemes = sum(len(s.phonemes) for s in turn.sentences)
    console.print(f"[dim]reply audio {seconds:.1f} s with {phonemes} timed phonemes -> {out} "
                  f"(+ {out.with_suffix('.json').name}); first audio after "
                  f"{turn.first_audio_seconds or 0:.1f} s[/]", highlight=False)


def _echo(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        console.print(f"[bold cyan]Maggie:[/] {line}", highlight=False)
        yield line


def register(app: typer.Typer) -> None:
    app.command()(chat)
    app.command()(demo)
