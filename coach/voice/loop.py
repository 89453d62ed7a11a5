"""The live voice loop: listen, recognise, answer, speak, and stop when interrupted.

Each stage runs on its own thread and they meet through queues, so none waits on
another more than it must:

    source frames -> endpointer (this thread) -> ASR worker -> reply worker -> player
                                                               \\-> events (avatar, captions)

- Recognition starts while the patient is still talking: at each short pause the
  audio so far is sent to the ASR worker, so at the end of the turn only the last
  stretch is left to recognise.
- The reply worker triages and answers (`Conversation.reply`), speaks each sentence
  as soon as it is written and hands it to the player and the event queue.
- Barge-in: speech that starts while the coach is talking stops playback at once and
  generation at the model's next token; the reply so far is stored as interrupted.
- An optional short acknowledgement ("Mm, let me think.") can cover the model's
  thinking time; it is timed apart from the first real audio.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.voice import SpokenSentence, Voice
from coach.conversation import Conversation, TurnOutcome
from coach.voice.asr import Transcriber, Transcript, TranscriptionError
from coach.voice.audio import SAMPLE_RATE
from coach.voice.playback import Player
from coach.voice.sources import AudioSource
from coach.voice.turn import NOT_HEARD
from coach.voice.vad import FRAME, Endpointer, EndpointSettings, Event

PREROLL = int(0.3 * SAMPLE_RATE)
"""Audio kept from before the detected onset: the VAD fires after the first phoneme began."""
CUT_PAD = int(0.16 * SAMPLE_RATE)
"""A segment sent early for recognition ends this far into the pause, never in a word."""
ACK_TEXT = "Mm, let me think about that."


@dataclass(frozen=True)
class LoopEvent:
    """What the avatar and captions follow: states, and each sentence with its phonemes."""

    kind: str
    """`listening`, `thinking`, `speaking` (with `sentence`), `interrupted`, `idle`."""
    at: float
    """time.perf_counter() when it happened."""
    sentence: SpokenSentence | None = None


@dataclass
class LiveTurn:
    transcript: str = ""
    asr_segments: int = 0
    speech_end: float = 0.0
    """perf_counter() when the last frame of speech arrived."""
    turn_end: float = 0.0
    """perf_counter() when the end of the turn was detected (speech_end + the end silence)."""
    transcript_at: float | None = None
    first_ack_at: float | None = None
    first_audio_at: float | None = None
    sentences: list[SpokenSentence] = field(default_factory=list)
    outcome: TurnOutcome | None = None
    interrupted: bool = False
    barge_in_stop_s: float | None = None
    """From the first frame of the interrupting speech to playback stopped."""
    barge_in_generation_s: float | None = None
    """From the first frame of the interrupting speech to generation stopped."""
    error: str = ""
    barge_in_onset: float | None = None

    def since_speech(self, at: float | None) -> float | None:
        return None if at is None else at - self.speech_end

    def summary(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript,
            "asr_segments": self.asr_segments,
            "reply": " ".join(s.text for s in self.sentences),
            "source": self.outcome.source if self.outcome else "",
            "triage": self.outcome.triage.category.value if self.outcome else None,
            "interrupted": self.interrupted,
            "end_of_turn_s": round(self.turn_end - self.speech_end, 3),
            "transcript_s": _round(self.since_speech(self.transcript_at)),
            "first_ack_s": _round(self.since_speech(self.first_ack_at)),
            "first_audio_s": _round(self.since_speech(self.first_audio_at)),
            "barge_in_stop_s": _round(self.barge_in_stop_s),
            "barge_in_generation_s": _round(self.barge_in_generation_s),
            "error": self.error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class VoiceLoop:
    """One patient's live spoken session over any `AudioSource`."""

    def __init__(self, conversation: Conversation, transcriber: Transcriber, voice: Voice,
                 player: Player, endpoint: EndpointSettings | None = None,
                 acknowledge: bool = False) -> None:
        self.conversation = conversation
        self.transcriber = transcriber
        self.voice = voice
        self.player = player
        self.endpoint = Endpointer(endpoint)
        self.events: queue.Queue[LoopEvent] = queue.Queue()
        self.turns: list[LiveTurn] = []
        self._ack = voice.speak(ACK_TEXT) if acknowledge else None
        self._asr = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
        self._cancel = threading.Event()
        self._reply_thread: threading.Thread | None = None
        self._current: LiveTurn | None = None
        self._vocabulary = [*conversation.medications, *conversation.conditions]
        self._language = conversation.language

    # --- state ------------------------------------------------------------------------------
    @property
    def speaking(self) -> bool:
        """The coach is answering or its voice is still playing."""
        thread = self._reply_thread
        return (thread is not None and thread.is_alive()) or self.player.busy

    def _emit(self, kind: str, sentence: SpokenSentence | None = None) -> None:
        self.events.put(LoopEvent(kind, time.perf_counter(), sentence))

    # --- the listening thread ---------------------------------------------------------------
    def run(self, source: AudioSource, max_turns: int | None = None,
            wait_playback: bool = True) -> list[LiveTurn]:
        """Listen to `source` until it ends (or `max_turns` replies are done); return the turns."""
        audio: deque[NDArray[np.float32]] = deque()
        base = 0
        """Input sample index of audio[0]."""
        arrivals: deque[tuple[int, float]] = deque(maxlen=int(10 * SAMPLE_RATE / FRAME))
        segments: list[Future[Transcript]] = []
        cut = 0
        self._emit("listening")
        for frame in source.frames():
            now = time.perf_counter()
            start_sample = self.endpoint.sample
            arrivals.append((start_sample, now))
            audio.append(frame)
            if not self.endpoint.in_turn:
                # Between turns keep only the pre-roll.
                while len(audio) * FRAME > PREROLL + FRAME:
                    audio.popleft()
                    base += FRAME
            for event in self.endpoint.feed(frame):
                if event.kind is Event.SPEECH_STARTED:
                    if self.speaking:
                        self._barge_in(_arrival(arrivals, event.onset, now))
                    segments = []
                    cut = max(base, event.onset - PREROLL)
                    self._emit("listening")
                elif event.kind is Event.PAUSE:
                    end = event.onset + CUT_PAD
                    segments.append(self._recognise(_slice(audio, base, cut, end)))
                    cut = end
                elif event.kind is Event.TURN_ENDED:
                    end = min(event.onset + CUT_PAD, self.endpoint.sample)
                    if end > cut:
                        segments.append(self._recognise(_slice(audio, base, cut, end)))
                    turn = LiveTurn(speech_end=_arrival(arrivals, event.onset, now), turn_end=now,
                                    asr_segments=len(segments))
                    self._answer(turn, segments)
                    segments = []
                    while len(audio) * FRAME > PREROLL + FRAME:
                        audio.popleft()
                        base += FRAME
            if max_turns is not None and self._done_turns() >= max_turns:
                break
        self.wait(wait_playback)
        return self.turns

    def _done_turns(self) -> int:
        return len(self.turns) - (1 if self.speaking else 0)

    def _recognise(self, samples: NDArray[np.float32]) -> Future[Transcript]:
        return self._asr.submit(self.transcriber.transcribe, samples, self._vocabulary,
                                self._language)

    def _barge_in(self, onset_at: float) -> None:
        self._cancel.set()
        self.player.stop()
        turn = self._current
        if turn is not None:
            turn.interrupted = True
            turn.barge_in_stop_s = time.perf_counter() - onset_at
            turn.barge_in_onset = onset_at
        self._emit("interrupted")

    # --- the reply thread -------------------------------------------------------------------
    def _answer(self, turn: LiveTurn, segments: list[Future[Transcript]]) -> None:
        self.wait()  # a turn that ended while the last reply was still stopping
        self._cancel = threading.Event()
        self._current = turn
        self.turns.append(turn)
        self._emit("thinking")
        if self._ack is not None:
            self.player.play(self._ack.audio)
            turn.first_ack_at = time.perf_counter()
        self._reply_thread = threading.Thread(target=self._reply, args=(turn, segments, self._cancel),
                                              name="reply", daemon=True)
        self._reply_thread.start()

    def _reply(self, turn: LiveTurn, segments: list[Future[Transcript]], cancel: threading.Event) -> None:
        try:
            parts = [f.result().text for f in segments]
        except TranscriptionError as exc:
            turn.error = str(exc)
            parts = []
        turn.transcript = " ".join(p for p in parts if p).strip()
        turn.transcript_at = time.perf_counter()
        replies = self.conversation.reply(turn.transcript, cancel) if turn.transcript else iter([NOT_HEARD])
        clock = 0.0
        try:
            for sentence in replies:
                if cancel.is_set():
                    break
                spoken = self.voice.speak(sentence, clock)
                if cancel.is_set():
                    break
                clock = spoken.end
                self.player.play(spoken.audio)
                if turn.first_audio_at is None:
                    turn.first_audio_at = time.perf_counter()
                turn.sentences.append(spoken)
                self._emit("speaking", spoken)
        except Exception as exc:  # a failed TTS or model mid-turn: keep the transcript, say so
            turn.error = f"{type(exc).__name__}: {exc}"
        finally:
            close = getattr(replies, "close", None)
            if close is not None:
                close()  # stores the reply so far (interrupted when cancelled)
            if cancel.is_set() and turn.barge_in_onset is not None:
                turn.barge_in_generation_s = time.perf_counter() - turn.barge_in_onset
            turn.outcome = self.conversation.last if turn.transcript else None
        if not cancel.is_set():
            self._emit("idle")

    def wait(self, playback: bool = True) -> None:
        """Until the reply in progress is written (and, with `playback`, heard or stopped)."""
        thread = self._reply_thread
        if thread is not None:
            thread.join()
        while playback and self.player.busy and not self._cancel.is_set():
            time.sleep(0.02)

    def close(self) -> None:
        self._cancel.set()
        self.player.stop()
        if self._reply_thread is not None:
            self._reply_thread.join()
        self._asr.shutdown(wait=True)


def _arrival(arrivals: deque[tuple[int, float]], sample: int, default: float) -> float:
    """When the frame holding input sample `sample` arrived."""
    for start, at in arrivals:
        if start <= sample < start + FRAME:
            return at
    return default


def _slice(audio: deque[NDArray[np.float32]], base: int, start: int, end: int) -> NDArray[np.float32]:
    joined = np.concatenate(list(audio)) if audio else np.zeros(0, dtype=np.float32)
    return joined[max(0, start - base):max(0, end - base)]
