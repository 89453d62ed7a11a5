"""One spoken turn from a recording: transcript -> the coach's reply -> speech with timings.

Sentences are spoken as the model writes them (the voice never waits for the whole
reply), on one clock, and the result carries every timestamp the avatar needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatar.voice import SpokenSentence, Voice
from coach.conversation import Conversation, TurnOutcome
from coach.voice.asr import Transcriber, Transcript
from coach.voice.audio import load_audio

DEMO_QUESTION = Path(__file__).parent / "demo_question.wav"
"""Maggie asking about steps and blood pressure (synthesised with the bundled voice)."""
NOT_HEARD = "I'm sorry, I didn't catch that. Could you say it again?"


@dataclass
class SpokenTurn:
    transcript: Transcript
    sentences: list[SpokenSentence] = field(default_factory=list)
    outcome: TurnOutcome | None = None
    first_audio_seconds: float | None = None
    """From the end of the recording being available to the first sentence's audio."""

    def timeline(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript.text,
            "sample_rate": self.sentences[0].sample_rate if self.sentences else None,
            "duration": round(self.sentences[-1].end, 4) if self.sentences else 0.0,
            "triage": self.outcome.triage.category.value if self.outcome else None,
            "sources": self.outcome.sources if self.outcome else [],
            "sentences": [s.timeline() for s in self.sentences],
        }


def vocabulary(conversation: Conversation) -> list[str]:
    """The patient's own medical words, so speech recognition spells them right."""
    return [*conversation.medications, *conversation.conditions]


def spoken_turn(conversation: Conversation, transcriber: Transcriber, voice: Voice,
                recording: Path) -> SpokenTurn:
    started = time.perf_counter()
    audio = load_audio(recording)
    transcript = transcriber.transcribe(audio, vocabulary(conversation), conversation.language)
    turn = SpokenTurn(transcript)
    replies = conversation.reply(transcript.text) if transcript.text else iter([NOT_HEARD])
    for spoken in voice.speak_all(replies):
        if turn.first_audio_seconds is None:
            turn.first_audio_seconds = time.perf_counter() - started
        turn.sentences.append(spoken)
    turn.outcome = conversation.last if transcript.text else None
    return turn
