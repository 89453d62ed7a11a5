"""Spoken-turn latency, stage by stage, streamed against naive, in the same run.

Each utterance is a patient question synthesised with the bundled voice (at two
speaking rates), so its words are known and the ASR word error rate can be measured.
As in a live session, the coach reads its last reply into the model's cache while the
patient listens and asks the next question (reported beside the question's length).
A turn is timed from the end of speech (the recording is complete):
transcript -> first model token -> first checked sentence -> first reply audio.
The naive pipeline does the same work one whole stage at a time (whole transcript,
whole reply, then the whole reply synthesised at once); the ratio of the two
first-audio times is the streaming gain.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Generator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table

from avatar.spoken_text import number_words
from avatar.voice import Voice, write_wav
from coach.conversation import Conversation
from coach.grounding import Knowledge
from coach.llm import GenerationOptions, LanguageModel, Message
from coach.safety import Triage
from coach.store import Patient, Store, open_store
from coach.voice.asr import Transcriber
from coach.voice.audio import load_audio

UTTERANCES = (
    "I walked to the shops and back this morning without stopping.",
    "How many steps a day should I aim for with my blood pressure?",
    "I keep forgetting my evening tablets, what could help me remember?",
    "What are the signs that my sugar is going low?",
    "I have been sleeping badly since my husband went into hospital.",
    "How can I cut down on salt when I cook?",
)
RATES = (0.9, 1.1)
BENCH_PATIENT = "Voice Bench (synthetic)"


class _Timed:
    """Wraps the coach's model to note when its first token arrives (instrumentation only)."""

    def __init__(self, model: LanguageModel) -> None:
        self.inner = model
        self.name = model.name
        self.first_token: float | None = None
        self.last_stats = model.last_stats

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        stream = self.inner.stream(messages, options)
        try:
            for piece in stream:
                if self.first_token is None:
                    self.first_token = time.perf_counter()
                yield piece
        finally:
            stream.close()
            self.last_stats = self.inner.last_stats

    def prefill(self, messages: Sequence[Message]) -> None:
        self.inner.prefill(messages)

    def close(self) -> None:
        pass  # the benchmark owns the real model and closes it once


_SPELLED = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "metres": "meters"}


def _words(text: str) -> list[str]:
    """Lowercase words with digits and titles spelled out: "10" and "ten" are the same word."""
    out: list[str] = []
    for token in re.findall(r"[a-z0-9']+", text.lower()):
        if token.isdigit() and len(token) < 7:
            out.extend(number_words(int(token)).replace("-", " ").split())
        else:
            out.append(_SPELLED.get(token, token))
    return out


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word edits and reference length, after normalising case, punctuation and numbers."""
    ref = _words(reference)
    hyp = _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)], len(ref)


def real_speech_wer(transcriber: Transcriber, cache: Path) -> dict[str, Any]:
    """Word error rate on the real recordings (see coach.voice.recordings), per package and overall."""
    from coach.voice import recordings

    root = recordings.fetch(cache)
    per: dict[str, list[int]] = {}
    times: list[float] = []
    for rec in recordings.RECORDINGS:
        audio = recordings.load(root, rec)
        transcript = transcriber.transcribe(audio, language="en")  # the recordings are English
        times.append(transcript.seconds / max(transcript.audio_seconds, 1e-9))
        e, w = wer(rec.words, transcript.text)
        totals = per.setdefault(rec.package, [0, 0, 0])
        totals[0], totals[1], totals[2] = totals[0] + e, totals[1] + w, totals[2] + 1
    edits = sum(v[0] for v in per.values())
    words = sum(v[1] for v in per.values())
    return {
        "recordings": len(recordings.RECORDINGS),
        "words": words,
        "wer": round(edits / max(1, words), 4),
        "per_package": {k: {"recordings": v[2], "words": v[1], "wer": round(v[0] / max(1, v[1]), 4)}
                        for k, v in per.items()},
        "real_time_factor_median": round(statistics.median(times), 3),
    }


def _patient(store: Store) -> int:
    with store.session() as db:
        patient = Patient(name=BENCH_PATIENT, preferred_name="Pat", age_band="70-79",
                          conditions=["hypertension", "type 2 diabetes"],
                          medications=["metformin", "amlodipine"])
        db.add(patient)
        db.flush()
        return patient.id


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 3),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3)}


BENCH_SEED = 7
"""Sampling seed when none is configured (see `_run`)."""


def run_voice_bench(triage: Triage, knowledge: Knowledge, model: LanguageModel,
                    transcriber: Transcriber, voice: Voice, options: GenerationOptions,
                    progress: bool = True) -> dict[str, Any]:
    # A throwaway encrypted store: a synthetic patient has no place in the clinic's records.
    with tempfile.TemporaryDirectory() as home:
        store = open_store(Path(home) / "bench.db", Path(home) / "bench.key")
        try:
            return _run(store, triage, knowledge, model, transcriber, voice, options, progress)
        finally:
            store.close()


def _run(store: Store, triage: Triage, knowledge: Knowledge, model: LanguageModel,
         transcriber: Transcriber, voice: Voice, options: GenerationOptions,
         progress: bool) -> dict[str, Any]:
    patient_id = _patient(store)
    timed = _Timed(model)
    # One seed for both pipelines: each turn then samples the same reply in both, and the
    # streaming gain compares like with like (independent draws of reply length made the
    # ratio swing between 1.2x and 2.5x from run to run).
    options = replace(options, seed=BENCH_SEED if options.seed is None else options.seed)
    replies: dict[str, list[str]] = {"streamed": [], "naive": []}
    stages: dict[str, list[float]] = {k: [] for k in (
        "transcript", "first_token", "first_sentence", "first_audio", "naive_first_audio",
        "listen_prefill", "question_audio")}
    edits = words = 0
    tts_audio = tts_time = 0.0

    def conversation() -> Conversation:
        return Conversation(store, patient_id, triage, lambda: timed, options, knowledge=knowledge,
                            warm=True)

    # One sitting per pipeline, as a patient would have: the system prompt is read once
    # (untimed, as `coach chat` does while the patient speaks), later turns reuse its cache.
    streamed_conv = conversation()
    list(streamed_conv.reply("Hello"))
    with tempfile.TemporaryDirectory() as tmp, Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("spoken turns", total=2 * len(UTTERANCES) * len(RATES))
        recordings: list[tuple[str, Path, float]] = []
        for rate in RATES:
            speaker = Voice(voice.model_path, rate)
            for n, text in enumerate(UTTERANCES):
                path = Path(tmp) / f"u{n}-{rate}.wav"
                question = speaker.speak(text)
                write_wav(path, [question], speaker.sample_rate)
                recordings.append((text, path, question.duration))
        # Two sittings, one per pipeline, over the same recordings: each keeps its own
        # cache warm, as a live session would, so neither pays for the other's history.
        for text, path, seconds in recordings:
            # The last reply is read into the cache while the patient listens and asks the
            # next question; a live turn starts after that, so the timer does too. Its
            # length is reported next to the question's, which it must stay under.
            stages["listen_prefill"].append(streamed_conv.wait_ready())
            stages["question_audio"].append(seconds)
            streamed = _streamed_turn(streamed_conv, timed, transcriber, voice, path)
            for key in ("transcript", "first_token", "first_sentence", "first_audio"):
                if streamed[key] is not None:
                    stages[key].append(streamed[key])
            replies["streamed"].append(streamed["reply"])
            e, w = wer(text, streamed["text"])
            edits, words = edits + e, words + w
            bar.advance(task)
        streamed_conv.close()
        naive_conv = conversation()
        list(naive_conv.reply("Hello"))
        for _text, path, _seconds in recordings:
            naive_conv.wait_ready()
            naive = _naive_turn(naive_conv, transcriber, voice, path)
            stages["naive_first_audio"].append(naive["first_audio"])
            replies["naive"].append(naive["reply"])
            tts_audio += naive["audio_seconds"]
            tts_time += naive["tts_seconds"]
            bar.advance(task)
        naive_conv.close()
    result: dict[str, Any] = {
        "turns": len(stages["first_audio"]),
        "model": model.name,
        "asr": transcriber.name,
        "stages_s": {k: _stats(v) for k, v in stages.items() if v},
        "asr_wer": round(edits / max(1, words), 4),
        "tts_real_time_factor": round(tts_time / max(1e-9, tts_audio), 3),
    }
    if stages["first_audio"]:
        result["streaming_gain"] = round(statistics.median(stages["naive_first_audio"])
                                         / statistics.median(stages["first_audio"]), 2)
    if len(stages["first_audio"]) == len(stages["naive_first_audio"]) and stages["first_audio"]:
        # Turn by turn: the naive pipeline's wait over the streamed one's for the same question.
        result["streaming_gain_per_turn"] = round(statistics.median(
            n / s for n, s in zip(stages["naive_first_audio"], stages["first_audio"], strict=True)), 2)
    result["same_replies"] = sum(1 for a, b in zip(replies["streamed"], replies["naive"], strict=False)
                                 if a == b)
    result["table"] = _table(result)
    return result


def _streamed_turn(conv: Conversation, timed: _Timed, transcriber: Transcriber, voice: Voice,
                   path: Path) -> dict[str, Any]:
    audio = load_audio(path)
    start = time.perf_counter()
    transcript = transcriber.transcribe(audio, [*conv.medications, *conv.conditions], conv.language)
    out: dict[str, Any] = {"text": transcript.text, "transcript": time.perf_counter() - start,
                           "first_token": None, "first_sentence": None, "first_audio": None}
    timed.first_token = None
    clock = 0.0
    said: list[str] = []
    for sentence in conv.reply(transcript.text or "(silence)"):
        said.append(sentence)
        if out["first_sentence"] is None:
            out["first_sentence"] = time.perf_counter() - start
        spoken = voice.speak(sentence, clock)
        clock = spoken.end
        if out["first_audio"] is None:
            out["first_audio"] = time.perf_counter() - start
    if timed.first_token is not None:
        out["first_token"] = timed.first_token - start
    out["reply"] = " ".join(said)
    return out


def _naive_turn(conv: Conversation, transcriber: Transcriber, voice: Voice, path: Path) -> dict[str, Any]:
    audio = load_audio(path)
    start = time.perf_counter()
    transcript = transcriber.transcribe(audio, [*conv.medications, *conv.conditions], conv.language)
    reply = " ".join(conv.reply(transcript.text or "(silence)"))
    tts_start = time.perf_counter()
    spoken = voice.speak(reply)
    end = time.perf_counter()
    return {"first_audio": end - start, "tts_seconds": end - tts_start, "audio_seconds": spoken.duration,
            "reply": reply}


def _table(result: dict[str, Any]) -> Table:
    table = Table(title=f"coach bench voice: {result['turns']} spoken turns, {result['asr']} + "
                        f"{result['model']} (seconds from the end of speech)")
    for col in ("stage", "median", "p95"):
        table.add_column(col)
    names = {"transcript": "-> transcript", "first_token": "-> first token",
             "first_sentence": "-> first sentence", "first_audio": "-> first audio (streamed)",
             "naive_first_audio": "-> first audio (naive)",
             "listen_prefill": "reply read into cache while listening",
             "question_audio": "length of the spoken question"}
    for key, label in names.items():
        if key in result["stages_s"]:
            s = result["stages_s"][key]
            table.add_row(label, f"{s['median']:.2f}", f"{s['p95']:.2f}")
    table.caption = (f"streaming gain {result.get('streaming_gain', 0):.2f}x (turn by turn "
                     f"{result.get('streaming_gain_per_turn', 0):.2f}x; {result.get('same_replies', 0)} of "
                     f"{result['turns']} replies the same in both); ASR WER "
                     f"{100 * result['asr_wer']:.1f}% on synthesised speech; TTS real-time factor "
                     f"{result['tts_real_time_factor']:.2f}")
    return table



LIVE_UTTERANCES = (
    ("I walked to the shops this morning", "how far should I go tomorrow?"),
    ("My sugar was a bit high at breakfast", "what could I eat instead of toast?"),
    ("I have been sleeping badly", "what might help me settle at night?"),
    ("I keep forgetting my evening tablets", "how can I remember them?"),
    ("My knees ache on the stairs", "what gentle exercise could I do?"),
    ("I get puffed out on the hill", "should I slow down on my walks?"),
)
"""Spoken in two phrases with a pause between them, as people do: recognition of the
first phrase starts during the pause."""
INTERRUPTION = "Sorry, wait a moment."


class _PacedSpeaker:
    """Plays the scripted patient in real time; on barge-in turns it interrupts the coach."""

    name = "benchmark speaker"

    def __init__(self, turns: list[tuple[Any, bool]], interruption: Any, pause: Any, gap: Any) -> None:
        self.turns, self.interruption, self.pause, self.gap = turns, interruption, pause, gap
        self.loop: Any = None

    def _paced(self, audio: Any) -> Any:
        from coach.voice.vad import FRAME

        start = time.perf_counter()
        for n, i in enumerate(range(0, len(audio) - FRAME + 1, FRAME)):
            delay = start + n * FRAME / 16000 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            yield audio[i:i + FRAME]

    def _answered(self, n: int) -> bool:
        turns = self.loop.turns
        return len(turns) > n and (turns[n].first_audio_at is not None or not self.loop.speaking)

    def frames(self) -> Any:
        import numpy as np

        self.interruptions: set[int] = set()
        said = 0
        for speech, interrupt in self.turns:
            yield from self._paced(np.concatenate([speech, self.gap]))
            said += 1
            # Listen (to silence) until the coach answers; then interrupt it or let it finish.
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline and not self._answered(said - 1):
                yield from self._paced(self.pause)
            if interrupt:
                yield from self._paced(np.concatenate([self.pause, self.pause]))
                yield from self._paced(np.concatenate([self.interruption, self.gap]))
                self.interruptions.add(said)
                said += 1
                while time.perf_counter() < deadline and not self._answered(said - 1):
                    yield from self._paced(self.pause)
            while self.loop.speaking and time.perf_counter() < deadline:
                yield from self._paced(self.pause)


def run_live_bench(triage: Triage, knowledge: Knowledge, model: LanguageModel, transcriber: Transcriber,
                   voice: Voice, options: GenerationOptions, acknowledge: bool = True) -> dict[str, Any]:
    """The live loop (coach.voice.loop) over paced speech: early recognition, acknowledgement, barge-in."""
    import numpy as np

    from coach.voice.loop import VoiceLoop
    from coach.voice.playback import ClockPlayer
    from coach.voice.sources import _resample

    def said(text: str) -> Any:
        return _resample(voice.speak(text).audio, voice.sample_rate)

    pause = np.zeros(int(0.064 * 16000), dtype=np.float32)
    between = np.zeros(int(0.6 * 16000), dtype=np.float32)
    gap = np.zeros(int(1.6 * 16000), dtype=np.float32)
    turns = [(np.concatenate([said(a), between, said(b)]), n % 3 == 2)
             for n, (a, b) in enumerate(LIVE_UTTERANCES)]
    with tempfile.TemporaryDirectory() as home:
        store = open_store(Path(home) / "bench.db", Path(home) / "bench.key")
        try:
            patient_id = _patient(store)
            conv = Conversation(store, patient_id, triage, lambda: _Timed(model), options,
                                knowledge=knowledge, warm=True)
            list(conv.reply("Hello"))
            conv.wait_ready()
            loop = VoiceLoop(conv, transcriber, voice, ClockPlayer(voice.sample_rate),
                             acknowledge=acknowledge)
            speaker = _PacedSpeaker(turns, said(INTERRUPTION), pause, gap)
            speaker.loop = loop
            done = loop.run(speaker, wait_playback=False)
            loop.close()
            conv.close()
        finally:
            store.close()
    answered = [t for n, t in enumerate(done) if n not in speaker.interruptions]
    rows = [t.summary() for t in done]

    def col(key: str, items: list[dict[str, Any]]) -> list[float]:
        return [r[key] for r in items if r.get(key) is not None]

    summaries = [t.summary() for t in answered]
    return {
        "turns": len(answered),
        "stages_s": {k: _stats(col(k, summaries)) for k in ("end_of_turn_s", "transcript_s", "first_ack_s",
                                                            "first_audio_s") if col(k, summaries)},
        "asr_segments_median": statistics.median([t.asr_segments for t in answered]) if answered else 0,
        "barge_ins": sum(1 for r in rows if r["interrupted"]),
        "barge_in_s": {k: _stats(col(k, rows)) for k in ("barge_in_stop_s", "barge_in_generation_s")
                       if col(k, rows)},
        # What each turn heard and said first: a long first sentence is a slow first audio.
        "per_turn": [{"transcript": r["transcript"], "first_audio_s": r["first_audio_s"],
                      "first_sentence": t.sentences[0].text if t.sentences else "",
                      "interrupted": r["interrupted"], "source": r["source"]}
                     for r, t in zip(rows, done, strict=True)],
    }
