"""The live voice loop with real models: a PCM stream in, spoken replies out, barge-in."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import select

from avatar.voice import Voice
from coach.config import Settings
from coach.conversation import Conversation
from coach.llm import GenerationOptions
from coach.llm.llamacpp import LlamaCppModel
from coach.store import Patient, Turn, open_store
from coach.voice.asr import Transcriber
from coach.voice.audio import SAMPLE_RATE, AudioError
from coach.voice.loop import VoiceLoop
from coach.voice.playback import ClockPlayer
from coach.voice.sources import PcmSource, _resample
from coach.voice.vad import FRAME, Endpointer, Event
from tests.conftest import model_path

pytestmark = pytest.mark.slow


def _speech(voice: Voice, text: str) -> NDArray[np.float32]:
    """A question as 16 kHz samples, said by the bundled voice."""
    return _resample(voice.speak(text).audio, voice.sample_rate)


def _silence(seconds: float) -> NDArray[np.float32]:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def _pcm(samples: NDArray[np.float32]) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _conversation(home: Settings, triage) -> tuple[object, Conversation]:  # type: ignore[no-untyped-def]
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        patient = Patient(name="June Park", preferred_name="June", medications=["metformin"])
        db.add(patient)
        db.flush()
        pid = patient.id
    model = LlamaCppModel(model_path("smollm2-135m"))
    return store, Conversation(store, pid, triage, lambda: model,
                               GenerationOptions(max_tokens=48))


def test_end_of_turn_waits_for_a_long_silence_not_a_pause(voice: Voice) -> None:
    # "I walked ... [0.6 s pause] ... and back." is one turn for a slow speaker.
    audio = np.concatenate([_silence(0.4), _speech(voice, "I walked to the shops"), _silence(0.6),
                            _speech(voice, "and back again."), _silence(1.6)])
    endpointer = Endpointer()
    kinds = [e.kind for i in range(0, len(audio) - FRAME + 1, FRAME)
             for e in endpointer.feed(audio[i:i + FRAME])]
    assert kinds.count(Event.SPEECH_STARTED) == 1 and kinds.count(Event.TURN_ENDED) == 1
    assert Event.PAUSE in kinds[:kinds.index(Event.TURN_ENDED)]


def test_a_pcm_stream_turn_is_recognised_answered_and_stored(home: Settings, triage, voice: Voice,  # type: ignore[no-untyped-def]
                                                             tiny: Transcriber) -> None:
    question = np.concatenate([_silence(0.5), _speech(voice, "I walked to the park"), _silence(0.6),
                               _speech(voice, "with my dog this morning."), _silence(2.0)])
    # The headset sends 22.05 kHz stereo: the source resamples and downmixes.
    resampled = np.repeat(np.asarray(
        _resample_to(question, 22050), dtype=np.float32), 2)
    source = PcmSource(io.BytesIO(_pcm(resampled)), rate=22050, channels=2)
    store, conv = _conversation(home, triage)
    loop = VoiceLoop(conv, tiny, voice, ClockPlayer(voice.sample_rate), acknowledge=True)
    turns = loop.run(source, max_turns=1, wait_playback=False)
    loop.close()
    assert len(turns) == 1
    turn = turns[0]
    assert "park" in turn.transcript.lower() and "dog" in turn.transcript.lower(), turn.transcript
    assert turn.asr_segments >= 2  # recognition began during the pause, before the turn ended
    assert turn.sentences and turn.first_audio_at is not None and turn.first_ack_at is not None
    assert turn.sentences[0].phonemes
    with store.session() as db:  # type: ignore[attr-defined]
        rows = db.scalars(select(Turn).order_by(Turn.idx)).all()
        assert [r.role for r in rows] == ["patient", "coach"] and rows[1].status == "complete"
    conv.close()
    store.close()  # type: ignore[attr-defined]


def _resample_to(samples: NDArray[np.float32], rate: int) -> NDArray[np.float32]:
    from scipy.signal import resample_poly

    return np.asarray(resample_poly(samples, rate // 50, SAMPLE_RATE // 50), dtype=np.float32)


class _LiveSource:
    """Frames paced in real time; the second question starts once the coach is talking."""

    name = "scripted speaker"

    def __init__(self, first: NDArray[np.float32], second: NDArray[np.float32]) -> None:
        self.first, self.second = first, second
        self.loop: VoiceLoop | None = None

    def _paced(self, audio: NDArray[np.float32]) -> Iterator[NDArray[np.float32]]:
        for i in range(0, len(audio) - FRAME + 1, FRAME):
            time.sleep(FRAME / SAMPLE_RATE)
            yield audio[i:i + FRAME]

    def frames(self) -> Iterator[NDArray[np.float32]]:
        yield from self._paced(np.concatenate([self.first, _silence(1.5)]))
        deadline = time.perf_counter() + 120
        assert self.loop is not None
        while not (self.loop.player.busy and self.loop.turns and self.loop.turns[0].sentences):
            if time.perf_counter() > deadline:
                raise AssertionError("the coach never started speaking")
            yield from self._paced(_silence(0.064))
        yield from self._paced(np.concatenate([self.second, _silence(1.6)]))


def test_barge_in_stops_the_coach_and_keeps_the_interrupted_reply(home: Settings, triage,  # type: ignore[no-untyped-def]
                                                                   voice: Voice, tiny: Transcriber) -> None:
    source = _LiveSource(np.concatenate([_silence(0.3), _speech(voice, "Tell me about walking.")]),
                         _speech(voice, "Sorry, one more thing."))
    store, conv = _conversation(home, triage)
    player = ClockPlayer(voice.sample_rate)
    loop = VoiceLoop(conv, tiny, voice, player)
    source.loop = loop
    turns = loop.run(source, max_turns=2, wait_playback=False)
    loop.close()
    first = turns[0]
    assert first.interrupted and first.barge_in_stop_s is not None
    assert first.barge_in_generation_s is not None
    assert player.stopped_at is not None
    assert len(turns) == 2 and "one more thing" in turns[1].transcript.lower()
    with store.session() as db:  # type: ignore[attr-defined]
        coach_turns = db.scalars(select(Turn).where(Turn.role == "coach").order_by(Turn.idx)).all()
        assert coach_turns[0].status == "interrupted"
    conv.close()
    store.close()  # type: ignore[attr-defined]


def test_bad_pcm_settings_get_clear_messages() -> None:
    with pytest.raises(AudioError, match="sample rate"):
        PcmSource(io.BytesIO(b""), rate=1000)
    with pytest.raises(AudioError, match="channels"):
        PcmSource(io.BytesIO(b""), channels=6)
    # A truncated stream (an odd byte at the end) is read up to the last whole sample.
    frames = list(PcmSource(io.BytesIO(b"\x00\x01" * (FRAME * 2) + b"\x07")).frames())
    assert len(frames) == 2
