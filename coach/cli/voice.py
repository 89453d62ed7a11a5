"""`coach transcribe` and `coach talk`: the spoken side of the coach, from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from coach.cli.chat import BackendOpt, ModelOpt, UrlOpt
from coach.cli.main import JsonOpt, console, fail, print_json

AsrOpt = Annotated[str | None, typer.Option(
    "--asr", help="Speech model: whisper-base (default) or whisper-tiny.en (light).")]


def transcribe(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Audio file: wav, flac, mp3, ogg (any rate, mono or stereo).")],
    asr: AsrOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print what was said in an audio file.

    Examples:

      coach transcribe question.wav
      coach transcribe visit.mp3 --asr whisper-tiny.en --json
    """
    from coach.voice.audio import load_audio

    audio = load_audio(file)
    transcript = ctx.obj.open_transcriber(asr).transcribe(audio)
    if as_json:
        print_json({"text": transcript.text, "language": transcript.language,
                    "audio_seconds": round(transcript.audio_seconds, 2),
                    "seconds": round(transcript.seconds, 2)})
        return
    if not transcript.text:
        fail(f"{file.name}: no speech found; record the question again, closer to the microphone")
    console.print(transcript.text, highlight=False)


def talk(
    ctx: typer.Context,
    patient: Annotated[int, typer.Option("--patient", "-p", help="Patient id.")],
    recording: Annotated[Path, typer.Option("--in", help="The patient's spoken question (audio file).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the spoken reply (wav).")],
    timeline: Annotated[Path | None, typer.Option(
        "--timeline", help="Where to write sentences and phoneme times (JSON) for the avatar.")] = None,
    asr: AsrOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a spoken question with a spoken reply, and the timings the avatar lip-syncs to.

    Examples:

      coach talk --patient 1 --in question.wav --out reply.wav --timeline reply.json
      coach talk -p 1 --in q.flac --out r.wav --asr whisper-tiny.en --model qwen2.5-0.5b
    """
    from avatar.voice import write_wav
    from coach.conversation import Conversation
    from coach.voice.turn import spoken_turn

    context = ctx.obj.with_llm(llm_backend=backend, llm_model=model, llm_url=url)
    transcriber = context.open_transcriber(asr)
    voice = context.open_voice()
    conv = Conversation(context.store, patient, context.triage, context.open_model, context.generation,
                        context.settings.locale, warm=True, knowledge=context.knowledge)
    try:
        turn = spoken_turn(conv, transcriber, voice, recording)
    finally:
        conv.close()
    seconds = write_wav(out, turn.sentences, voice.sample_rate)
    data = turn.timeline()
    if timeline is not None:
        timeline.parent.mkdir(parents=True, exist_ok=True)
        timeline.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    if as_json:
        print_json({"transcript": turn.transcript.text, "reply": " ".join(s.text for s in turn.sentences),
                    "audio": str(out), "audio_seconds": round(seconds, 2), "timeline": str(timeline or ""),
                    "first_audio_seconds": round(turn.first_audio_seconds or 0.0, 2),
                    "triage": data["triage"]})
        return
    console.print(f"[bold cyan]heard:[/] {turn.transcript.text}", highlight=False)
    console.print(f"[bold green]Sam:[/] {' '.join(s.text for s in turn.sentences)}", highlight=False)
    console.print(f"[dim]reply audio {seconds:.1f} s -> {out}"
                  + (f"; timeline -> {timeline}" if timeline else "") + "[/]", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(transcribe)
    app.command()(talk)
