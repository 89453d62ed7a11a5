"""`coach transcribe` and `coach talk`: the spoken side of the coach, from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from coach.cli.chat import BackendOpt, ModelOpt, UrlOpt
from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.options import PatientId
from coach.cli.text import shown

AsrOpt = Annotated[str | None, typer.Option(
    "--asr", help="Speech model: whisper-base (default) or whisper-tiny.en (light).")]


def transcribe(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Audio file: wav, flac, mp3, ogg (any rate, mono or stereo).")],
    asr: AsrOpt = None,
    language: Annotated[str | None, typer.Option(
        help="The speaker's language as a two-letter code (en, es, cy...); detected when left "
        "out, which costs the multilingual model a second pass.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print what was said in an audio file.

    Examples:

      coach transcribe question.wav
      coach transcribe visit.mp3 --asr whisper-tiny.en --json
      coach transcribe pregunta.wav --language es
    """
    from coach.voice.asr import whisper_language
    from coach.voice.audio import load_audio

    if language is not None and whisper_language(language) is None:
        fail(f"--language {language!r} is not a language the speech model knows; "
             "give a two-letter code such as en, es or fr, or leave it out to detect it")
    audio = load_audio(file)
    transcript = ctx.obj.open_transcriber(asr).transcribe(audio, language=language)
    if as_json:
        print_json({"text": transcript.text, "language": transcript.language,
                    "audio_seconds": round(transcript.audio_seconds, 2),
                    "seconds": round(transcript.seconds, 2)})
        return
    if not transcript.text:
        fail(f"{file.name}: no speech found; record the question again, closer to the microphone")
    console.print(shown(transcript.text), highlight=False)


def talk(
    ctx: typer.Context,
    patient: PatientId,
    recording: Annotated[Path | None, typer.Option(
        "--in", help="The patient's spoken question (audio file).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the spoken reply (wav).")] = None,
    timeline: Annotated[Path | None, typer.Option(
        "--timeline", help="Where to write sentences and phoneme times (JSON) for the avatar.")] = None,
    mic: Annotated[bool, typer.Option(
        "--mic", help="Talk live: microphone in, speakers out (Ctrl-C ends).")] = False,
    pcm: Annotated[str | None, typer.Option(
        "--pcm", help="Live raw 16-bit little-endian PCM from a file or pipe ('-' for stdin), as the "
        "headset client sends it.")] = None,
    rate: Annotated[int, typer.Option(help="Sample rate of --pcm.", min=8000, max=192_000)] = 16000,
    channels: Annotated[int, typer.Option(help="Channels of --pcm (1 or 2).", min=1, max=2)] = 1,
    end_silence: Annotated[int, typer.Option(
        help="Milliseconds of silence that end a live turn (longer suits slower speakers).")] = 1200,
    ack: Annotated[bool, typer.Option(
        help="Say a short acknowledgement while the reply is prepared.")] = False,
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
      coach talk -p 1 --mic --end-silence 1500         # live, for a slow speaker
      headset-client | coach talk -p 1 --pcm - --rate 48000 --out replies.wav --json
    """
    from avatar.voice import write_wav
    from coach.cli.chat import audit_conversation, note_later
    from coach.cli.files import check_output
    from coach.conversation import Conversation
    from coach.voice.turn import spoken_turn

    if sum([recording is not None, mic, pcm is not None]) != 1:
        fail("give exactly one of --in FILE, --mic or --pcm PATH|-")
    if recording is not None and out is None:
        fail("--in needs --out, the wav file to write the spoken reply to")
    # Checked before the models load and the patient speaks: the reply must have somewhere to go.
    for path, option in ((out, "--out"), (timeline, "--timeline")):
        if path is not None:
            check_output(path, option)
    context = ctx.obj.with_llm(llm_backend=backend, llm_model=model, llm_url=url)
    transcriber = context.open_transcriber(asr)
    voice = context.open_voice()
    conv = Conversation(context.store, patient, context.triage, context.open_model, context.generation,
                        context.settings.locale, warm=True, knowledge=context.knowledge)
    try:
        audit_conversation(context, conv)
    except BaseException:
        conv.close()
        raise
    if recording is None:
        try:
            _live(conv, transcriber, voice, mic, pcm, rate, channels, end_silence, ack, out, as_json)
        finally:
            conv.close()
            note_later(context, patient, quiet=as_json)
        return
    assert out is not None
    try:
        turn = spoken_turn(conv, transcriber, voice, recording)
    finally:
        conv.close()
        note_later(context, patient, quiet=as_json)
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
    console.print(f"[bold cyan]heard:[/] {shown(turn.transcript.text)}", highlight=False)
    console.print(f"[bold green]Sam:[/] {shown(' '.join(s.text for s in turn.sentences))}", highlight=False)
    console.print(f"[dim]reply audio {seconds:.1f} s -> {shown(out)}"
                  + (f"; timeline -> {shown(timeline)}" if timeline else "") + "[/]", highlight=False)


def _live(conv: Any, transcriber: Any, voice: Any, mic: bool, pcm: str | None, rate: int,
          channels: int, end_silence: int, ack: bool, out: Path | None, as_json: bool) -> None:
    """A live session over the microphone or a PCM stream, turn after turn."""
    import sys

    from avatar.voice import write_wav
    from coach.voice.loop import VoiceLoop
    from coach.voice.playback import ClockPlayer, Player, SpeakerPlayer
    from coach.voice.sources import AudioSource, MicSource, PcmSource
    from coach.voice.vad import EndpointSettings

    if not 300 <= end_silence <= 5000:
        fail("--end-silence must be between 300 and 5000 milliseconds")
    source: AudioSource
    player: Player
    if mic:
        source, player = MicSource(), SpeakerPlayer(voice.sample_rate)
        console.print(f"[dim]listening on {source.name}; Ctrl-C ends the session[/]", highlight=False)
    else:
        assert pcm is not None
        if pcm != "-" and not Path(pcm).exists():
            fail(f"{pcm}: no such file or pipe")
        stream = sys.stdin.buffer if pcm == "-" else Path(pcm).open("rb")  # noqa: SIM115
        source, player = PcmSource(stream, rate, channels, name=pcm), ClockPlayer(voice.sample_rate)
    loop = VoiceLoop(conv, transcriber, voice, player, EndpointSettings(end_silence_ms=end_silence),
                     acknowledge=ack)
    try:
        turns = loop.run(source, wait_playback=mic)
    finally:
        loop.close()
        player.close()
    if out is not None:
        write_wav(out, [s for t in turns for s in t.sentences], voice.sample_rate)
    if as_json:
        print_json({"turns": [t.summary() for t in turns], "audio": str(out or "")})
        return
    for t in turns:
        console.print(f"[bold cyan]heard:[/] {shown(t.transcript or '(nothing)')}", highlight=False)
        reply = shown(" ".join(s.text for s in t.sentences))
        console.print(f"[bold green]Sam:[/] {reply}" + (" [yellow](interrupted)[/]" if t.interrupted else ""),
                      highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(transcribe)
    app.command()(talk)
