"""`coach memory ...`: the guided memory session, its document, review, approval and export."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.options import NAME_CHARS, PatientId, id_option, text_option
from coach.cli.text import shown
from coach.store import audit

memory_app = typer.Typer(
    help="Memory sessions (Dignity Therapy) and the legacy document made from the patient's words.",
    no_args_is_help=True,
)

PatientOpt = PatientId


def _lines(interactive: bool) -> Iterator[str]:
    while True:
        try:
            line = console.input("[bold cyan]You:[/] ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and line == "":
            return
        line = line.strip()
        if not line:
            continue
        if not interactive:
            console.print(f"[bold cyan]You:[/] {shown(line)}", highlight=False)
        yield line


def _show(steps: list[object]) -> None:
    from coach.legacy.interview import Step

    for step in steps:
        assert isinstance(step, Step)
        style = "red" if step.flag_id else "green"
        label = f"[bold {style}]Sam:[/] "
        console.print(label + shown(step.text), highlight=False)
        if step.flag_id:
            console.print(f"[red]  triage: {shown(step.triage)}  \\[flagged for the care team][/]")


def _ask_consent(ctx: typer.Context, patient: int, proxy: str, share: bool, given: bool) -> None:
    from coach.legacy.consent import CONSENT_TEXT, current_consent, give_consent

    store = ctx.obj.store
    with store.session() as db:
        if current_consent(db, patient) is not None:
            return
    console.print(CONSENT_TEXT, highlight=False)
    if not given:
        if not sys.stdin.isatty():
            fail("the patient's consent is needed first: read them the text above, then run again "
                 "with --consent (add --proxy NAME if they name someone to approve for them)")
        if not typer.confirm("Do you agree to go ahead?", default=False):
            console.print("Nothing has been recorded. You can start whenever you wish.")
            raise typer.Exit(0)
        proxy = proxy or typer.prompt("Someone you'd like to be able to review and approve it for you "
                                      "(leave empty for nobody)", default="", show_default=False)
        share = share or typer.confirm("May your care team read what you say (not only see that "
                                       "a session is under way)?", default=False)
    with store.session() as db:
        consent = give_consent(db, patient, proxy, share)
        console.print(f"[dim]consent recorded {consent.given_at:%Y-%m-%d %H:%M} UTC"
                      + (f"; proxy: {shown(consent.proxy_name)}" if consent.proxy_name else "") + "[/]",
                      highlight=False)


def _run(ctx: typer.Context, patient: int, resume_only: bool, transcriber_name: str | None) -> None:
    from coach.legacy.interview import PAUSE_WORDS, SKIP_WORDS, Interview
    from coach.voice.audio import load_audio

    context = ctx.obj
    interview = Interview(context.store, patient, context.triage, context.settings.locale,
                          resume_only=resume_only)
    transcriber = None
    try:
        _show(list(interview.opening()))
        for line in _lines(sys.stdin.isatty()):
            command = line.lower().rstrip(".!")
            if command in PAUSE_WORDS:
                _show([interview.pause()])
                return
            if command in SKIP_WORDS:
                _show(list(interview.skip()))
            elif line.startswith("@"):
                path = Path(line[1:].strip()).expanduser()
                samples = load_audio(path)
                transcriber = transcriber or context.open_transcriber(transcriber_name)
                text = transcriber.transcribe(samples).text
                console.print(f"[dim]  (heard) {shown(text)}[/]", highlight=False)
                _show(list(interview.answer(text, path.read_bytes(), path.name)))
            else:
                _show(list(interview.answer(line)))
            if interview.finished:
                console.print(f"[dim]Next: coach memory document --patient {patient} --review[/]")
                return
    finally:
        interview.close()


SessionHelp = """

Answer each question in your own words. Type /skip to leave a question, /pause to stop
for today (everything said is saved). A line `@answer.wav` answers with a recording:
it is transcribed, and the recording itself is kept in the encrypted store for the
audio keepsake.
"""


@memory_app.command("start")
def start(
    ctx: typer.Context,
    patient: PatientOpt,
    consent: Annotated[bool, typer.Option("--consent", help="The patient has heard the explanation "
                                          "and agreed (for scripts; otherwise they are asked).")] = False,
    proxy: Annotated[str, text_option("--proxy", help="Someone the patient names to review and approve.",
                                      max_chars=NAME_CHARS)] = "",
    share: Annotated[bool, typer.Option("--share-with-care-team",
                                        help="The care team may read the content.")] = False,
    asr: Annotated[str | None, typer.Option(help="Speech model for @recording answers.")] = None,
) -> None:
    """Explain and ask consent, then begin (or carry on) the patient's memory session.

    Examples:

      coach memory start --patient 3
      printf 'I grew up in Leeds...\\n/pause\\n' | coach memory start -p 3 --consent --proxy "Anna Evans"
    """
    _ask_consent(ctx, patient, proxy, share, consent)
    _run(ctx, patient, resume_only=False, transcriber_name=asr)


start.__doc__ = (start.__doc__ or "") + SessionHelp


@memory_app.command("resume")
def resume(
    ctx: typer.Context,
    patient: PatientOpt,
    asr: Annotated[str | None, typer.Option(help="Speech model for @recording answers.")] = None,
) -> None:
    """Carry on a paused memory session at the question left open.

    Examples:

      coach memory resume --patient 3
      printf '/skip\\nMy hopes for them are simple.\\n' | coach memory resume -p 3
    """
    _run(ctx, patient, resume_only=True, transcriber_name=asr)


def _print_document(data: dict[str, object]) -> None:
    paragraphs = data["paragraphs"]
    assert isinstance(paragraphs, list)
    check = data["check"]
    assert isinstance(check, dict)
    console.rule(f"legacy document, version {data['version']} ({data['status']})")
    section = None
    for p in paragraphs:
        if p["section"] != section:
            section = p["section"]
            console.print(f"\n[bold]{shown(section)}[/]", highlight=False)
        edited = " [dim](edited)[/]" if p["edited_by"] else ""
        console.print(f"[cyan]{p['number']:>3}[/]  {shown(p['text'])}{edited}", highlight=False)
    console.print()
    console.print(f"[dim]traceability: {check.get('matched')} of {check.get('sentences')} sentences "
                  f"match the transcript; {len(check.get('rejected', []))} left out; "
                  f"invented names/places/dates: {len(check.get('invented', []))}[/]")
    held = check.get("held_back") or []
    if held:
        console.print(f"[yellow]{len(held)} answer(s) raised a safety flag and are left out "
                      f"(turns {', '.join(map(str, held))}); the author may put one back with "
                      "--include-turn ID --by NAME[/]")
    if not check.get("finished"):
        console.print(f"[yellow]The session is not finished ({check.get('questions_asked')} of 9 "
                      "questions asked); this document holds what was said so far.[/]")
    if data["status"] == "approved":
        console.print(f"[green]approved by {shown(data['approved_by'])} on {data['approved_at']}[/]",
                      highlight=False)


def _review(ctx: typer.Context, patient: int, by: str | None) -> None:
    from coach.legacy import document as doc

    store = ctx.obj.store
    who = by or typer.prompt("Who is reviewing (the patient, or the proxy they named)?")
    with store.session() as db:
        doc.authorised(db, patient, who)
    help_line = "[dim]e N: edit paragraph N   r N: remove N   a: approve   q: quit[/]"
    while True:
        with store.session() as db:
            _print_document(doc.document_json(doc.readable_document(db, patient)))
        console.print(help_line)
        choice = typer.prompt("?", default="q").strip().lower()
        try:
            if choice in ("q", "quit"):
                return
            if choice in ("a", "approve"):
                with store.session() as db:
                    doc.approve(db, patient, who)
                console.print(f"[green]Approved.[/] Export it with: coach memory export --patient "
                              f"{patient} --out DIR")
                return
            action, _, number = choice.partition(" ")
            if action in ("e", "edit") and number.isdigit():
                text = typer.prompt(f"New text for paragraph {number}")
                with store.session() as db:
                    doc.edit_paragraph(db, patient, int(number), text, who)
            elif action in ("r", "remove") and number.isdigit():
                if typer.confirm(f"Remove paragraph {number}?", default=False):
                    with store.session() as db:
                        doc.remove_paragraph(db, patient, int(number), who)
            else:
                console.print("[yellow]not understood[/]")
        except doc.DocumentError as exc:
            console.print(f"[red]{shown(exc)}[/]", highlight=False)


@memory_app.command("document")
def document(
    ctx: typer.Context,
    patient: PatientOpt,
    review: Annotated[bool, typer.Option("--review",
                                         help="Read, edit, remove and approve interactively.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Make a new draft version from the "
                                          "transcript (after more answers).")] = False,
    edit: Annotated[int | None, id_option("--edit",
                                          help="Paragraph number to replace with --text.")] = None,
    text: Annotated[str | None, text_option("--text", help="The new text for --edit.",
                                            max_chars=10_000)] = None,
    remove: Annotated[int | None, id_option("--remove", help="Paragraph number to take out.")] = None,
    include_turn: Annotated[int | None, id_option(
        "--include-turn", help="Put a held-back (safety-flagged) answer back, then rebuild.")] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the document (needs --by).")] = False,
    by: Annotated[str | None, text_option("--by", help="The patient's name or their named proxy.",
                                          max_chars=NAME_CHARS)] = None,
    titles: Annotated[str, typer.Option(help="Section titles: `protocol` uses the themes' own; "
                                        "`model` lets the model propose them (checked).")] = "protocol",
    as_json: JsonOpt = False,
) -> None:
    """Build the legacy document from the patient's words, show it, and let them change and approve it.

    Every paragraph lists the transcript turns it came from (see --json). Nothing can be
    exported until the patient, or the proxy named in their consent, approves it.

    Examples:

      coach memory document --patient 3                 # build (first time) and show
      coach memory document -p 3 --rebuild --titles model   # new draft, model-proposed titles
      coach memory document --patient 3 --review        # edit / remove / approve interactively
      coach memory document -p 3 --edit 4 --text "We married in June 1961." --by "Anna Evans"
      coach memory document -p 3 --remove 2 --by Margaret
      coach memory document -p 3 --approve --by "Margaret Evans" --json
    """
    from coach.legacy import document as doc

    if titles not in ("model", "protocol"):
        fail("--titles must be model or protocol")
    if (edit is not None) != (text is not None):
        fail("--edit N and --text TEXT go together")
    if (edit is not None or remove is not None or approve or include_turn is not None) and not by:
        fail("say who is making the change with --by NAME (the patient or their named proxy)")
    store = ctx.obj.store
    if include_turn is not None and by:
        with store.session() as db:
            doc.include_turn(db, patient, include_turn, by)
        rebuild = True
    with store.session() as db:
        existing = doc.readable_document(db, patient) if not rebuild and _has_document(db, patient) else None
    if existing is None:
        model = None
        if titles == "model":
            from coach.llm.base import LLMError

            try:
                model = ctx.obj.open_model()
            except LLMError as exc:
                console.print(f"[yellow]no model for titles ({exc}); using the themes' own[/]")
        try:
            with store.session() as db:
                built = doc.build_document(db, patient, model)
                if not as_json:
                    console.print(f"[dim]built version {built.version}[/]")
        finally:
            if model is not None:
                model.close()
    with store.session() as db:
        if edit is not None and text is not None and by:
            doc.edit_paragraph(db, patient, edit, text, by)
        if remove is not None and by:
            doc.remove_paragraph(db, patient, remove, by)
        if approve and by:
            doc.approve(db, patient, by)
    if review and not as_json:
        with store.session() as db:
            audit.record(db, "cli", "review_legacy_document", patient_id=patient, target=f"patient:{patient}")
        _review(ctx, patient, by)
        return
    with store.session() as db:
        data = doc.document_json(doc.readable_document(db, patient))
        audit.record(db, "cli", "view_legacy_document", patient_id=patient, target=f"patient:{patient}",
                     detail=f"version {data['version']}")
    if as_json:
        print_json(data)
        return
    _print_document(data)
    if data["status"] != "approved":
        console.print(f"[dim]Review and approve: coach memory document --patient {patient} --review[/]")


def _has_document(db: object, patient: int) -> bool:
    from sqlalchemy.orm import Session

    from coach.legacy.document import latest_document

    assert isinstance(db, Session)
    return latest_document(db, patient) is not None


@memory_app.command("export")
def export(
    ctx: typer.Context,
    patient: PatientOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder to write legacy.md, legacy.pdf, keepsake.wav.")],
    audio: Annotated[bool, typer.Option(help="Also join the patient's own recordings (if any).")] = True,
    passages: Annotated[str, typer.Option(help="Paragraph numbers for the audio, e.g. 1,4,7 "
                                          "(default: all that were spoken).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Write the approved document as Markdown and PDF, and the audio keepsake.

    Refused, with nothing written, until the latest version is approved.

    Examples:

      coach memory export --patient 3 --out ~/keepsake
      coach memory export -p 3 --out out --passages 2,5 --json
    """
    from coach.legacy.export import export as run_export

    try:
        numbers = [int(x) for x in passages.replace(" ", "").split(",") if x]
    except ValueError:
        fail("--passages takes paragraph numbers separated by commas, e.g. 1,4,7")
    with ctx.obj.existing_store.session() as db:
        result = run_export(db, patient, out, audio, numbers or None)
        audit.record(db, "cli", "export_legacy", patient_id=patient, target=f"patient:{patient}",
                     detail=str(out))
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"Markdown: {result.markdown}\nPDF:      {result.pdf}", highlight=False)
    if result.audio is not None:
        console.print(f"Audio:    {result.audio} ({result.audio_seconds:.1f} s of the patient's own "
                      f"recordings, paragraphs {', '.join(map(str, result.passages))})", highlight=False)
    elif audio:
        console.print("[dim]no recorded answers behind these paragraphs, so no audio keepsake[/]")


@memory_app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    patient: PatientOpt,
    delete: Annotated[bool, typer.Option("--delete", help="Erase every word and recording.")] = False,
    lock: Annotated[bool, typer.Option("--lock",
                                       help="Keep them encrypted; show and export nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw the patient's consent; they choose whether their words are deleted or locked.

    Examples:

      coach memory withdraw --patient 3 --lock
      coach memory withdraw --patient 3 --delete
    """
    from coach.legacy.consent import withdraw_consent

    if delete == lock:
        fail("choose one: --delete (erase what was said) or --lock (keep it, shown to no one)")
    with ctx.obj.store.session() as db:
        result = withdraw_consent(db, patient, "delete" if delete else "lock")
    if as_json:
        print_json({"choice": result.choice, "turns": result.turns, "documents": result.documents,
                    "message": result.message})
        return
    console.print(result.message, highlight=False)


@memory_app.command("status")
def status(ctx: typer.Context, patient: PatientOpt, as_json: JsonOpt = False) -> None:
    """Where the memory session stands (what the care team sees; content only if allowed).

    Example:

      coach memory status --patient 3 --json
    """
    from coach.legacy.status import legacy_status
    from coach.store.schema import Patient

    with ctx.obj.existing_store.session() as db:
        if db.get(Patient, patient) is None:
            fail(f"no patient with id {patient}; see `coach patients list`")
        data = legacy_status(db, patient)
        audit.record(db, "cli", "view_legacy_status", patient_id=patient, target=f"patient:{patient}")
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "content":
            console.print(f"{key:>20}: {shown(value)}", highlight=False)


def bench_memory(
    ctx: typer.Context,
    titles: Annotated[str, typer.Option(help="`protocol` (fast) or `model` (the model proposes "
                                        "titles, checked).")] = "protocol",
    as_json: JsonOpt = False,
) -> None:
    """Traceability of the legacy document on scripted sessions (figures printed, not asserted).

    Runs every scripted patient (coach/legacy/data/bench_sessions.jsonl: rambling, terse,
    skipping) through a real memory session with triage in a throwaway store, builds the
    document, and reports the share of content sentences that match a transcript span
    and the names, places and dates that the transcript does not contain.

    Examples:

      coach bench memory
      coach bench memory --titles model --json
    """
    from coach.legacy.bench import run_memory_bench

    if titles not in ("model", "protocol"):
        fail("--titles must be model or protocol")
    context = ctx.obj
    result = run_memory_bench(context.triage, context.settings.locale,
                              context.open_model if titles == "model" else None, progress=not as_json)
    table = result.pop("table")
    if as_json:
        print_json(result)
        return
    console.print(table)


def register(app: typer.Typer) -> None:
    from coach.cli.bench import bench_app

    app.add_typer(memory_app, name="memory")
    bench_app.command("memory")(bench_memory)


def memory_demo(ctx: typer.Context, patient_id: int, backend: str | None = None,
                model: str | None = None, url: str | None = None) -> None:
    """The end of `coach demo`: a scripted memory session exported as a sample legacy PDF.

    Titles come from the protocol (no model), so the sample document is the same on every
    machine; the model options are accepted so the demo can pass its own through.
    """
    from coach.legacy.demo import run_memory_demo

    context = ctx.obj
    console.rule("memory session: a scripted sitting becomes a legacy document")
    run_memory_demo(context.store, patient_id, context.triage, context.settings.home / "demo",
                    None, context.settings.locale, console)
