"""How the history window affects a long session's time to the first sentence.

A 12-exchange text session with the configured model (greedy, so runs repeat), timing
each reply's first sentence and counting the prompt tokens the model had to read anew.
Run it against two checkouts to compare windows:

    .venv/bin/python notebooks/history_window.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ["COACH_LLM_TEMPERATURE"] = "0"

from coach.cli.context import Context  # noqa: E402
from coach.config import load_settings  # noqa: E402
from coach.conversation import Conversation  # noqa: E402
from coach.store import Patient, open_store  # noqa: E402

MESSAGES = [
    "I walked for twenty minutes today.", "My knees were a bit sore after.", "I slept better last night.",
    "I had porridge for breakfast.", "I forgot my evening tablets once this week.",
    "I felt a bit low on Tuesday.", "My daughter visited at the weekend.", "I want to walk more next week.",
    "I did some gardening too.", "I drank more water than usual.", "I'm trying to cut down on salt.",
    "I went to the pool on Thursday.",
]


def main() -> None:
    context = Context(load_settings())
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "session.db", Path(folder) / "session.key")
        with store.session() as db:
            patient = Patient(name="Pat Lee")
            db.add(patient)
            db.flush()
            patient_id = patient.id
        model = context.open_model()
        conv = Conversation(store, patient_id, context.triage, lambda: model, context.generation, warm=True)
        rows = []
        for message in MESSAGES:
            conv.wait_ready()  # the last reply is read while the patient listens, as in use
            started = time.perf_counter()
            sentences = conv.reply(message)
            next(sentences)
            first = time.perf_counter() - started
            for _ in sentences:
                pass
            stats = model.last_stats
            rows.append((first, stats.prompt_tokens - stats.reused_tokens))
            print(f"{message:45} first sentence {first:5.2f} s, {rows[-1][1]:4d} new prompt tokens")
        later = [r[0] for r in rows[6:]]
        print(f"median first sentence, exchanges 7-12: {statistics.median(later):.2f} s")
        conv.close()
        model.close()
        store.close()


if __name__ == "__main__":
    main()
