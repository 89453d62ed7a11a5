"""Language-model latency: time to first token cold and warm, and generation speed.

"Cold" is the first turn of a session: the whole system prompt is read. "Warm"
turns reuse its KV cache, which is what every later turn of a session pays.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.progress import Progress
from rich.table import Table

from coach.config import Settings
from coach.llm import GenerationOptions, LanguageModel, Message
from coach.persona import PERSONA

QUESTIONS = (
    "I walked for twenty minutes after lunch today.",
    "I find it hard to sleep after nine o'clock news.",
    "How can I add more vegetables to my meals?",
    "I keep forgetting my evening walk. Any ideas?",
    "My daughter wants me to join a gentle exercise class.",
    "I'd like to cut down on biscuits with my tea.",
)

BENCH_SYSTEM = PERSONA + (
    "\n\nPatient: Ann Example; call them Ann. Age band 60-69.\nConditions: hypertension.\n"
    "Medicines (for context only; never advise on them): amlodipine.\nAllergies: none recorded."
)


def _one_turn(model: LanguageModel, question: str, max_tokens: int) -> dict[str, float]:
    messages = [Message("system", BENCH_SYSTEM), Message("user", question)]
    opts = GenerationOptions(max_tokens=max_tokens, temperature=0.0, seed=7)
    start = time.perf_counter()
    first = None
    pieces = 0
    for _ in model.stream(messages, opts):
        if first is None:
            first = time.perf_counter()
        pieces += 1
    end = time.perf_counter()
    first = first or end
    stats = model.last_stats
    gen_time = end - first
    return {
        "ttft_s": first - start,
        "tokens": stats.generated_tokens or pieces,
        "tokens_per_s": (max(pieces - 1, 0) / gen_time) if gen_time > 0 else 0.0,
        "prompt_tokens": stats.prompt_tokens,
        "reused_tokens": stats.reused_tokens,
    }


def run_llm_bench(settings: Settings, open_model: Callable[[], LanguageModel], runs: int,
                  max_tokens: int, progress: bool = True) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = open_model()
    load_s = time.perf_counter() - t0
    turns = []
    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("timing turns", total=runs + 1)
            for i in range(runs + 1):
                turns.append(_one_turn(model, QUESTIONS[i % len(QUESTIONS)], max_tokens))
                bar.advance(task)
    finally:
        model.close()
    cold, warm = turns[0], turns[1:] or turns[:1]

    def med(key: str) -> float:
        return float(statistics.median(t[key] for t in warm))

    result: dict[str, Any] = {
        "backend": settings.llm_backend,
        "model": settings.llm_model if settings.llm_backend != "openai" else settings.llm_url,
        "load_s": round(load_s, 3),
        "cold_ttft_s": round(cold["ttft_s"], 3),
        "warm_ttft_median_s": round(med("ttft_s"), 3),
        "tokens_per_s_median": round(med("tokens_per_s"), 1),
        "prompt_tokens_median": int(med("prompt_tokens")),
        "reused_tokens_median": int(med("reused_tokens")),
        "warm_runs": len(warm),
        "max_tokens": max_tokens,
    }
    table = Table("figure", "value", title=f"coach bench llm: {result['backend']} / {result['model']}")
    table.add_row("load", f"{result['load_s']:.2f} s")
    table.add_row("time to first token, cold (system prompt read)", f"{result['cold_ttft_s']:.3f} s")
    table.add_row(f"time to first token, warm (median of {len(warm)})",
                  f"{result['warm_ttft_median_s']:.3f} s")
    table.add_row("generation speed (median)", f"{result['tokens_per_s_median']:.1f} tokens/s")
    table.add_row("prompt tokens / reused from cache (median)",
                  f"{result['prompt_tokens_median']} / {result['reused_tokens_median']}")
    result["table"] = table
    return result
