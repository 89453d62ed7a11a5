"""`coach bench ...`: performance and quality figures, printed, never asserted."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from coach.cli.main import JsonOpt, console, fail, print_json

bench_app = typer.Typer(help="Benchmarks that print figures (medians).", no_args_is_help=True)


@bench_app.command("llm")
def bench_llm(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option(help="Warm turns to time.")] = 5,
    model: Annotated[str | None, typer.Option(help="Bundled model name or path.")] = None,
    backend: Annotated[str | None, typer.Option(help="llamacpp, transformers or openai.")] = None,
    url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Tokens to generate per turn.")] = 64,
    as_json: JsonOpt = False,
) -> None:
    """Time to first token (cold and with the cached system prompt) and tokens per second.

    Examples:

      coach bench llm
      coach bench llm --model smollm2-135m --runs 3 --json
    """
    from coach.bench.llm import run_llm_bench

    context = ctx.obj.with_llm(llm_model=model, llm_backend=backend, llm_url=url)
    result = run_llm_bench(context.settings, context.open_model, runs, max_tokens,
                           progress=not as_json)
    if as_json:
        print_json(result)
        return
    console.print(result["table"])


@bench_app.command("triage")
def bench_triage(
    ctx: typer.Context,
    split: Annotated[str, typer.Option(
        help="test (sealed, the figure to quote), long (sealed, spoken-length), blind, blind2 and short "
        "(sealed, each by another author who never saw the training data; short: 1-12 word messages "
        "such as closings), memory (sealed: answers in a memory session), everyday (sealed: everyday "
        "coaching messages), coaching (sealed: every turn of the coaching bench's test conversations, all "
        "benign), dev, dev-long, dev-conv, dev-context, dev-coaching or dev-urgent (hard-to-spot "
        "crises and emergencies) (read while tuning), or all."
    )] = "test",
    classifier: Annotated[str, typer.Option(
        help="ensemble (the default: the mean of the two below), finetuned (a transformer that reads "
        "each message with the question it answers) or linear (over frozen embeddings, as before)."
    )] = "ensemble",
    show_errors: Annotated[bool, typer.Option(help="List misclassified messages (dev splits only).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Precision and recall per category on held-out splits (never trained on).

    Also reports what benign messages were given (the full crisis or emergency reply, the
    check-in question, the out-of-scope refusal), how many urgent messages were caught,
    how rules and classifier each do alone, and the median time per message. Each message
    is read with the question it answers (a memory-session question or the coach's).

    Example:

      coach bench triage --split all
      coach bench triage --split memory --json
      coach bench triage --split everyday --classifier linear   # the classifier before issue 15
      coach bench triage --split dev-context --show-errors
    """
    from coach.bench.triage import run_triage_bench, summary_table
    from coach.cli.context import TRIAGE_CLASSIFIERS, open_triage
    from coach.safety.dataset import SPLITS, is_sealed

    if split not in SPLITS and split != "all":
        fail(f"--split must be one of {', '.join(SPLITS)} or all")
    if classifier not in TRIAGE_CLASSIFIERS:
        fail(f"--classifier must be {' or '.join(TRIAGE_CLASSIFIERS)}")
    triage = ctx.obj.triage if classifier == "ensemble" else open_triage(ctx.obj.settings, classifier)
    names = list(SPLITS) if split == "all" else [split]
    results = []
    with console.status("", spinner="dots") as status:
        for name in names:
            status.update(f"triage bench: {name} split")
            result = run_triage_bench(triage, SPLITS[name], name)
            if is_sealed(name):
                # A sealed split stays sealed: nobody tunes on its individual mistakes.
                result["errors"] = len(result["errors"])
            results.append(result)
    tables = [r.pop("table") for r in results]
    if as_json:
        print_json(results if split == "all" else results[0])
        return
    if split == "all":
        console.print(summary_table(results))
        return
    console.print(tables[0])
    if show_errors and not is_sealed(split):
        for e in results[0]["errors"]:
            console.print(f"{e['gold']:>12} -> {e['predicted']:<12} ({e['action']}) "
                          f"[{e['context'][:20]}] {e['text']}", highlight=False)


@bench_app.command("coaching")
def bench_coaching(
    ctx: typer.Context,
    split: Annotated[str, typer.Option(
        help="dev (may be read while changing the coach) or test (sealed: only its figures "
        "are read).")] = "dev",
    model: Annotated[str | None, typer.Option(help="Bundled model name or path.")] = None,
    backend: Annotated[str | None, typer.Option(help="llamacpp, transformers or openai.")] = None,
    url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    limit: Annotated[int, typer.Option(help="Play only the first N conversations (0: all).", min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Do replies answer, understand and coach? Scripted conversations, checked without a judge.

    Each scripted patient (coach/bench/data/coaching_*.jsonl, written from COACHING.md by
    authors who never saw the coach's prompts) talks to a real conversation: triage,
    retrieval, grounding check and the language model. Reported per check: answers the
    question (its key fact present), cites, no advice without a passage, no invented claim
    about the patient, speakable, reflects or asks, asks before advising, affirms effort, no
    pressure on ambivalence, idioms understood; per patient profile in --json.

    Examples:

      coach bench coaching                       # the dev split, default model
      coach bench coaching --split test --json   # the sealed split, for the figures to quote
      coach bench coaching --model qwen2.5-0.5b --limit 3
      coach bench coaching --backend openai --url http://gpu-box:8000/v1 --model my-model
    """
    from coach.bench.coaching import SPLITS, ScriptError, load_scripts, run_coaching_bench

    if split not in SPLITS:
        fail(f"--split must be one of {', '.join(SPLITS)}")
    try:
        scripts = load_scripts(SPLITS[split])
    except (OSError, ScriptError) as exc:
        fail(f"cannot read the {split} conversations: {exc}")
    if limit:
        scripts = scripts[:limit]
    context = ctx.obj.with_llm(llm_model=model, llm_backend=backend, llm_url=url)
    result = run_coaching_bench(scripts, context.triage, context.open_model, context.generation,
                                context.knowledge, context.settings.llm_model, split,
                                context.settings.locale, progress=not as_json)
    table = result.pop("table")
    if split == "test":
        # Sealed: its figures are read, not its individual replies.
        result["turn_records"] = len(result["turn_records"])
    if as_json:
        print_json(result)
        return
    console.print(table)


@bench_app.command("voice")
def bench_voice(
    ctx: typer.Context,
    asr: Annotated[str | None, typer.Option(help="whisper-base (default) or whisper-tiny.en.")] = None,
    model: Annotated[str | None, typer.Option(help="Bundled model name or path.")] = None,
    part: Annotated[str, typer.Option(
        help="files (streamed vs naive over recordings), live (the live loop over paced speech, "
        "with acknowledgement and barge-in) or all.")] = "all",
    as_json: JsonOpt = False,
) -> None:
    """Spoken turns timed stage by stage from the end of speech, streamed against naive.

    Reports medians and p95 for transcript, first token, first sentence and first
    audio; the naive pipeline's first audio and the streaming gain; ASR word error
    rate and TTS real-time factor. The live part runs the real-time loop: recognition
    from the first pause, first acknowledgement and first content audio timed apart,
    and how fast a barge-in stops playback and generation.

    Examples:

      coach bench voice
      coach bench voice --part live --json
      coach bench voice --asr whisper-tiny.en --model qwen2.5-0.5b --json   # light profile
    """
    from coach.bench.voice import run_live_bench, run_voice_bench

    if part not in ("files", "live", "all"):
        fail("--part must be files, live or all")
    context = ctx.obj.with_llm(llm_model=model)
    transcriber, voice = context.open_transcriber(asr), context.open_voice()
    llm = context.open_model()
    result: dict[str, object] = {}
    try:
        if part in ("files", "all"):
            result = run_voice_bench(context.triage, context.knowledge, llm, transcriber, voice,
                                     context.generation, progress=not as_json)
        if part in ("live", "all"):
            if not as_json:
                console.print("[dim]live loop: paced speech in real time (about two minutes)[/]")
            result["live"] = run_live_bench(context.triage, context.knowledge, llm, transcriber, voice,
                                            context.generation)
    finally:
        llm.close()
    table = result.pop("table", None)
    if as_json:
        print_json(result)
        return
    if table is not None:
        console.print(table)
    if "live" in result:
        console.print(_live_table(result["live"]))  # type: ignore[arg-type]


def _live_table(live: dict[str, Any]) -> Table:
    table = Table(title=f"live loop: {live['turns']} spoken turns (seconds from the end of speech)")
    for col in ("stage", "median", "p95"):
        table.add_column(col)
    names = {"end_of_turn_s": "-> end of turn detected", "transcript_s": "-> transcript",
             "first_ack_s": "-> first acknowledgement", "first_audio_s": "-> first content audio"}
    for key, label in names.items():
        if key in live["stages_s"]:
            row = live["stages_s"][key]
            table.add_row(label, f"{row['median']:.2f}", f"{row['p95']:.2f}")
    for key, label in (("barge_in_stop_s", "barge-in -> playback stopped"),
                       ("barge_in_generation_s", "barge-in -> generation stopped")):
        if key in live["barge_in_s"]:
            row = live["barge_in_s"][key]
            table.add_row(label, f"{row['median']:.3f}", f"{row['p95']:.3f}")
    table.caption = (f"{live['barge_ins']} barge-ins; recognition in a median of "
                     f"{live['asr_segments_median']} pieces per turn, started during the patient's pauses")
    return table


@bench_app.command("asr")
def bench_asr(
    ctx: typer.Context,
    asr: Annotated[str | None, typer.Option(help="whisper-base (default) or whisper-tiny.en.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Speech-recognition word error rate on real recorded speech (not synthesised).

    The recordings (read sentences, card names, a spoken command, a channel-test voice)
    come from Debian's pocketsphinx-testdata and alsa-utils packages, fetched once with
    `apt-get download` into the coach's cache.

    Examples:

      coach bench asr
      coach bench asr --asr whisper-tiny.en --json
    """
    from coach.bench.voice import real_speech_wer
    from coach.voice.recordings import RecordingsError

    transcriber = ctx.obj.open_transcriber(asr)
    try:
        result = real_speech_wer(transcriber, ctx.obj.settings.home / "cache" / "recordings")
    except RecordingsError as exc:
        fail(str(exc))
    result["asr"] = transcriber.name
    if as_json:
        print_json(result)
        return
    table = Table(title=f"coach bench asr: {result['recordings']} real recordings, "
                        f"{result['words']} words, {transcriber.name}")
    for col in ("package", "recordings", "words", "WER"):
        table.add_column(col)
    for name, row in result["per_package"].items():
        table.add_row(name, str(row["recordings"]), str(row["words"]), f"{100 * row['wer']:.1f}%")
    table.add_row("all", str(result["recordings"]), str(result["words"]), f"{100 * result['wer']:.1f}%")
    table.caption = f"median real-time factor {result['real_time_factor_median']:.2f}"
    console.print(table)
