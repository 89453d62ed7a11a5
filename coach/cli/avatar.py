"""`coach avatar ...`, `coach vr` and `coach bench avatar`: the coach's face on video, window, headset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from coach.cli.main import JsonOpt, console, fail, print_json
from coach.cli.options import PatientId
from coach.cli.text import shown

avatar_app = typer.Typer(help="The coach's lip-synced avatar: video, window, glTF.", no_args_is_help=True)

SizeOpt = Annotated[int, typer.Option("--size", help="Frame width and height in pixels.")]
LeadOpt = Annotated[float, typer.Option("--lead", help="Seconds the mouth runs ahead of the sound.")]
AvatarOpt = Annotated[Path | None, typer.Option(
    "--avatar", help="Your own .glb/.gltf/.vrm avatar with OVR visemes, ARKit or VRM blend shapes.")]


def _progress(label: str) -> tuple[Progress, Any]:
    progress = Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeRemainingColumn(), console=console, transient=True)
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)
    return progress, update


def _model(avatar: Path | None) -> Any:
    from avatar.face import build_face
    from avatar.gltf import load_avatar

    return load_avatar(avatar) if avatar is not None else build_face()


@avatar_app.command("render")
def render(
    ctx: typer.Context,
    text: Annotated[str, typer.Option("--text", help="What the coach says.")],
    out: Annotated[Path, typer.Option("--out", help="The MP4 to write (H.264 + AAC).")] = Path("talk.mp4"),
    size: SizeOpt = 512,
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 30,
    lead: LeadOpt = 0.0,
    avatar: AvatarOpt = None,
    still: Annotated[Path | None, typer.Option(
        "--still", help="Also save one open-mouthed frame from mid-speech as PNG.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Speak the text with the coach's voice and render the avatar saying it, offscreen, to MP4.

    Examples:

      coach avatar render --text "Good morning, Maggie." --out talk.mp4
      coach avatar render --text "Well done this week." --size 1024 --lead 0.02 --json
      coach avatar render --text "Hello." --out hello.mp4 --still hello.png
    """
    from avatar.video import perform, render_performance

    if not 64 <= size <= 2048 or size % 2:
        fail(f"--size must be an even number of pixels from 64 to 2048, not {size}")
    if not 10 <= fps <= 60:
        fail(f"--fps must be between 10 and 60, not {fps}")
    if not text.strip():
        fail("--text is empty: give the sentence the coach should say")
    model = _model(avatar)
    voice = ctx.obj.open_voice()
    sentences = list(voice.speak_all([text]))
    performance = perform(sentences, voice.sample_rate)
    progress, update = _progress("rendering")
    with progress:
        frames = render_performance(performance, out, size, fps, lead, model, progress=update, still=still)
    result = {"out": str(out), "frames": frames, "seconds": round(performance.duration, 2), "size": size,
              "fps": fps, "phonemes": sum(len(s.phonemes) for s in performance.sentences),
              "still": str(still or "")}
    if as_json:
        print_json(result)
        return
    console.print(f"[green]wrote[/] {out}: {frames} frames, {performance.duration:.1f} s with the voice",
                  highlight=False)


@avatar_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="The .glb file to write.")] = Path("coach.glb"),
    as_json: JsonOpt = False,
) -> None:
    """Write the coach's own avatar as glTF 2.0 (.glb) with its morph targets named.

    Examples:

      coach avatar export --out coach.glb
      coach avatar export --out /tmp/sam.glb --json
    """
    from avatar.face import build_face
    from avatar.gltf import export_glb, target_names

    model = build_face()
    size = export_glb(model, out)
    names = target_names(out)
    result = {"out": str(out), "bytes": size, "triangles": model.triangle_count, "parts": len(model.parts),
              "morph_targets": names}
    if as_json:
        print_json(result)
        return
    console.print(f"[green]wrote[/] {out}: {size / 1e6:.1f} MB, {model.triangle_count} triangles, "
                  f"{len(names)} morph targets ({', '.join(names)})", highlight=False)


@avatar_app.command("view")
def view(
    seconds: Annotated[float, typer.Option(help="Close after this many seconds (0: until closed).")] = 0.0,
    avatar: AvatarOpt = None,
) -> None:
    """Open a desktop window with the avatar in its room, idling (Esc closes it).

    Examples:

      coach avatar view
      coach avatar view --avatar my_avatar.vrm --seconds 10
    """
    from avatar.window import run_window

    run_window(_model(avatar), seconds=seconds)


def vr(
    ctx: typer.Context,
    patient: PatientId,
    recording: Annotated[Path | None, typer.Option(
        "--in", help="Play this recording as the patient (instead of the microphone).")] = None,
    pcm: Annotated[str | None, typer.Option(
        "--pcm", help="Raw 16-bit little-endian PCM from a file or pipe ('-' for stdin) instead of the "
        "microphone; a file is read at speaking pace.")] = None,
    rate: Annotated[int, typer.Option(help="Sample rate of --pcm.", min=8000, max=192_000)] = 16000,
    channels: Annotated[int, typer.Option(help="Channels of --pcm (1 or 2).", min=1, max=2)] = 1,
    video: Annotated[Path | None, typer.Option(
        "--video", help="No headset or screen: render the whole session offscreen to this MP4, "
        "with the replies' audio.")] = None,
    size: SizeOpt = 512,
    end_silence: Annotated[int, typer.Option(
        help="Milliseconds of silence that end a turn (longer suits slower speakers).")] = 1200,
    asr: Annotated[str | None, typer.Option(
        "--asr", help="Speech model: whisper-base (default) or whisper-tiny.en (light).")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="LLM backend: llamacpp or ollama.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Bundled model name (or Ollama tag).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Ollama server URL.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Talk with Sam: the live voice session with the avatar, in a headset, a window or on video.

    The microphone and speakers are the system defaults. With an OpenXR runtime the
    avatar is in the headset; without one, in a desktop window; with neither (or
    with --video) the session is recorded and rendered to MP4 afterwards.
    --in and --pcm replace the microphone (replies then play to no device, in real time).

    Examples:

      coach vr --patient 1
      coach vr -p 1 --in question.wav --video session.mp4
      headset-client | coach vr -p 1 --pcm - --rate 48000
      coach vr -p 1 --pcm turns.pcm --asr whisper-tiny.en --video s.mp4 --size 384 --json
    """
    import sys

    from avatar.face import build_face
    from avatar.video import render_events
    from avatar.window import openxr_runtime
    from coach.cli.chat import audit_conversation, note_later
    from coach.conversation import Conversation
    from coach.voice.loop import VoiceLoop
    from coach.voice.playback import ClockPlayer, Player, SpeakerPlayer
    from coach.voice.sources import AudioSource, FileSource, MicSource, PcmSource
    from coach.voice.vad import EndpointSettings
    from coach.vr import VrSession, has_display, show

    if recording is not None and pcm is not None:
        fail("give at most one of --in FILE and --pcm PATH|- (neither: the microphone)")
    if not 300 <= end_silence <= 5000:
        fail("--end-silence must be between 300 and 5000 milliseconds")
    if not 64 <= size <= 2048 or size % 2:
        fail(f"--size must be an even number of pixels from 64 to 2048, not {size}")
    if recording is not None and not recording.is_file():
        fail(f"{recording}: no such recording; record the question as wav, flac, mp3 or ogg")
    if pcm is not None and pcm != "-" and not Path(pcm).exists():
        fail(f"{pcm}: no such file or pipe")
    if video is None and openxr_runtime() is None and not has_display():
        fail("no OpenXR runtime and no display (DISPLAY is not set): record the session instead, "
             "e.g. coach vr --patient ID --in question.wav --video session.mp4")
    with ctx.obj.store.session() as db:
        from coach.store.schema import Patient

        if db.get(Patient, patient) is None:
            fail(f"no patient {patient}; list them with `coach patients list`")
    context = ctx.obj.with_llm(llm_backend=backend, llm_model=model, llm_url=url)
    transcriber = context.open_transcriber(asr)
    voice = context.open_voice()
    source: AudioSource
    player: Player
    paced = False
    if recording is not None:
        source, player = FileSource(recording, realtime=True), ClockPlayer(voice.sample_rate)
    elif pcm is not None:
        paced = pcm != "-" and Path(pcm).is_file()
        stream = sys.stdin.buffer if pcm == "-" else Path(pcm).open("rb")  # noqa: SIM115
        source, player = PcmSource(stream, rate, channels, name=pcm), ClockPlayer(voice.sample_rate)
    else:
        source, player = MicSource(), SpeakerPlayer(voice.sample_rate)
    conv = Conversation(context.store, patient, context.triage, context.open_model, context.generation,
                        context.settings.locale, warm=True, knowledge=context.knowledge)
    try:
        audit_conversation(context, conv)
    except BaseException:
        conv.close()
        raise
    loop = VoiceLoop(conv, transcriber, voice, player, EndpointSettings(end_silence_ms=end_silence))
    session = VrSession(loop, source, player, paced=paced)
    # the speakers' own output latency, so the mouth moves when the sound is heard, not queued
    session.bridge.latency = float(getattr(getattr(player, "_stream", None), "latency", 0.0) or 0.0)
    face = build_face()
    live = recording is None and pcm is None

    def say(line: str) -> None:
        if not as_json:
            console.print(f"[dim]{line}[/]", highlight=False)

    where = "video"
    session.start()
    if live:
        say(f"listening on {source.name}; " + ("Ctrl-C ends the session" if video else
                                               "close the window or press Esc to end"))
    try:
        if video is None:
            where = show(session, face, until_done=not live, say=say)
        else:
            with console.status("the session is running (Ctrl-C ends it)", spinner="dots"):
                session.wait()
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
        conv.close()
        note_later(context, patient, quiet=as_json)
    if session.error is not None and not isinstance(session.error, KeyboardInterrupt):
        raise session.error
    frames = 0
    if video is not None:
        duration = session.duration
        progress, update = _progress("rendering the session")
        with progress:
            frames = render_events(session.bridge.log, duration, video,
                                   session.bridge.audio(voice.sample_rate, duration), voice.sample_rate,
                                   size, 30, face, progress=update)
    turns = session.turns
    if as_json:
        print_json({"shown_in": where, "video": str(video or ""), "frames": frames,
                    "turns": [t.summary() for t in turns]})
        return
    for t in turns:
        console.print(f"[bold cyan]heard:[/] {shown(t.transcript or '(nothing)')}", highlight=False)
        reply = shown(" ".join(s.text for s in t.sentences))
        console.print(f"[bold green]Sam:[/] {reply}" + (" [yellow](interrupted)[/]" if t.interrupted else ""),
                      highlight=False)
    if video is not None:
        console.print(f"[green]wrote[/] {video}: {frames} frames with the replies' audio", highlight=False)


def bench_avatar(
    ctx: typer.Context,
    sentences: Annotated[int, typer.Option(help="How many of the bench sentences to speak (1-5).")] = 5,
    frames: Annotated[int, typer.Option(help="Frames to time at 1024x1024.")] = 90,
    size: Annotated[int, typer.Option(help="Frame size for the timing run.")] = 1024,
    as_json: JsonOpt = False,
) -> None:
    """Lip sync read back from rendered frames against the voice's phoneme onsets, and frame times.

    Lip sync: p95 of the absolute offset (target <= 45 ms) and the signed median
    (negative: mouth early). Frames: offscreen with morphing, percentiles and fps
    (target >= 30 at 1024x1024), draw calls and triangles.

    Examples:

      coach bench avatar
      coach bench avatar --sentences 2 --frames 30 --json
    """
    from avatar.bench import SENTENCES, measure_frames, measure_lip_sync
    from avatar.video import perform

    if not 1 <= sentences <= len(SENTENCES):
        fail(f"--sentences must be from 1 to {len(SENTENCES)}")
    voice = ctx.obj.open_voice()
    performances = [perform([voice.speak(s)], voice.sample_rate) for s in SENTENCES[:sentences]]
    progress, update = _progress("lip sync")
    with progress:
        sync = measure_lip_sync(performances, progress=update).summary()
    timing = measure_frames(size, frames, samples=0)
    smooth = measure_frames(size, max(frames // 3, 10), samples=4)
    result = {"lip_sync": sync, "frames": timing, "frames_msaa4": smooth, "sentences": sentences}
    if as_json:
        print_json(result)
        return
    table = Table(title="coach bench avatar", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("lip sync events measured", f"{sync.get('events', 0)} of {sync.get('candidates', 0)}", "")
    table.add_row("lip sync |offset| p95", f"{sync.get('p95_abs_ms', float('nan'))} ms", "<= 45 ms")
    table.add_row("lip sync offset median (signed)", f"{sync.get('median_ms', float('nan'))} ms", "~0")
    table.add_row(f"frame time p50 / p95 / p99 ({timing['size']})",
                  f"{timing['frame_ms_p50']} / {timing['frame_ms_p95']} / {timing['frame_ms_p99']} ms", "")
    table.add_row("fps with morphing and readback", f"{timing['fps']}", ">= 30")
    table.add_row("fps with 4x MSAA (as videos are made)", f"{smooth['fps']}", "")
    table.add_row("CPU morph per frame (p50)", f"{timing['morph_ms_p50']} ms", "")
    table.add_row("CPU time per frame (p50), fps bound with the cores alone",
                  f"{timing['cpu_ms_p50']} ms, {timing['fps_if_alone']}", ">= 30")
    table.add_row("draw calls / triangles", f"{timing['draw_calls']} / {timing['triangles']}", "")
    where = f"{timing['renderer']}, {timing['cpu_cores']} cores, load {timing['load_average_1min']}"
    table.add_row("renderer", where, "")
    console.print(table)


DEMO_LINE = "Hello Maggie. Small steps, taken often, are what make walking easier by the spring."


def demo_reply_video(ctx: typer.Context, max_sentences: int = 3) -> Path:
    """The demo's last step: the avatar saying the spoken reply (or a fixed line) to demo/reply.mp4."""
    from avatar.video import VideoError, load_spoken, perform, render_performance

    demo: Path = ctx.obj.settings.home / "demo"
    out = demo / "reply.mp4"
    sentences = []
    timeline, wav = demo / "reply.json", demo / "reply.wav"
    if timeline.is_file() and wav.is_file():
        try:
            sentences = load_spoken(timeline, wav, max_sentences)
        except VideoError as exc:
            console.print(f"[yellow]{exc}; the avatar says a fixed line instead[/]", highlight=False)
    voice_rate = sentences[0].sample_rate if sentences else 0
    if not sentences:
        voice = ctx.obj.open_voice()
        sentences, voice_rate = list(voice.speak_all([DEMO_LINE])), voice.sample_rate
    console.rule("the avatar says the reply")
    performance = perform(sentences, voice_rate)
    progress, update = _progress("rendering the avatar")
    with progress:
        render_performance(performance, out, 512, 30, progress=update)
    console.print(f"[bold green]Sam (video):[/] {performance.caption}", highlight=False)
    console.print(f"[dim]avatar video {performance.duration:.1f} s -> {out}[/]", highlight=False)
    return out


def register(app: typer.Typer) -> None:
    from coach.cli.bench import bench_app

    app.add_typer(avatar_app, name="avatar")
    bench_app.command("avatar")(bench_avatar)
    app.command("vr")(vr)
