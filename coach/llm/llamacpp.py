"""In-process GGUF models through llama.cpp: the default, fast on a CPU.

The system prompt (persona, profile, memory) is the same for every turn of a
session, so its KV cache is computed once and kept: llama.cpp already reuses the
longest common token prefix with its previous call, and we also keep snapshots
of recent system prefixes so that switching between patients (as the web app
does) does not re-read the whole persona each time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coach.llm.base import GenerationOptions, LLMError, Message, TurnStats

PREFIX_SNAPSHOTS = 4


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def amx_advertised() -> bool:
    """Whether the CPU claims AMX tile instructions (Linux /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return "amx_tile" in line.split()
    except OSError:
        pass
    return False


@contextmanager
def without_amx_repacking() -> Iterator[None]:
    """Load with llama.cpp's extra (repacked) weight buffers off where AMX is advertised.

    Virtual machines can report AMX in CPUID without enabling its register state, and
    llama.cpp built for such a CPU then dies with SIGILL on its first AMX tile
    instruction (seen on this project's shared build machines). Without the extra
    buffers the AMX kernels are never chosen; AVX-512/AVX2 kernels do the work.
    """
    if not amx_advertised():
        yield
        return
    import llama_cpp.llama as llama_module

    original = llama_module.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = False
        return p

    llama_module.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        llama_module.llama_cpp.llama_model_default_params = original


class _LeaveOutputAlone:
    """Stands in for llama-cpp-python's `suppress_stdout_stderr` while a model loads."""

    def __init__(self, disable: bool = True) -> None:
        self.disable = disable

    def __enter__(self) -> _LeaveOutputAlone:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


@contextmanager
def without_output_redirects() -> Iterator[None]:
    """Load without llama-cpp-python pointing the whole process's stdout and stderr at /dev/null.

    With `verbose=False` it dup2's file descriptors 1 and 2 (and swaps `sys.stdout`) for the
    length of the load. The coach loads its model on a background thread while the
    conversation goes on, so whatever the main thread printed meanwhile vanished: a patient
    typing "I want to end my life" saw no crisis reply on the screen (make test's kill test
    hung waiting for it). llama.cpp's own log lines still go through the library's log
    callback, which `verbose=False` already filters to errors.
    """
    import llama_cpp._internals as internals_module
    import llama_cpp.llama as llama_module

    originals = (llama_module.suppress_stdout_stderr, internals_module.suppress_stdout_stderr)
    llama_module.suppress_stdout_stderr = _LeaveOutputAlone
    internals_module.suppress_stdout_stderr = _LeaveOutputAlone
    try:
        yield
    finally:
        llama_module.suppress_stdout_stderr, internals_module.suppress_stdout_stderr = originals


class LlamaCppModel:
    """A GGUF chat model; `stream` reuses the cached system prefix between turns."""

    def __init__(self, path: Path, *, n_ctx: int = 4096, threads: int = 0,
                 gpu_layers: int = 0, name: str | None = None) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - install problem
            raise LLMError(f"llama-cpp-python is not installed ({exc}); run `make demo`") from exc
        if not path.is_file():
            raise LLMError(f"GGUF model file {path} does not exist; run `coach models`")
        self.name = name or path.stem
        self.last_stats = TurnStats()
        try:
            with without_amx_repacking(), without_output_redirects():
                self._llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads or (os.cpu_count() or 2),
                    n_gpu_layers=gpu_layers,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"llama.cpp could not load {path}: {exc}") from exc
        meta = self._llm.metadata
        template = meta.get("tokenizer.chat_template")
        if not template:
            raise LLMError(f"{path} carries no chat template; use an instruct GGUF")
        eos = self._llm.detokenize([self._llm.token_eos()]).decode("utf-8", "ignore")
        bos = self._llm.detokenize([self._llm.token_bos()]).decode("utf-8", "ignore")
        self._formats = {
            flag: Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                      add_generation_prompt=flag)
            for flag in (True, False)
        }
        self._snapshots: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.RLock()
        """llama.cpp's context is not thread-safe: one generation or prefill at a time
        (a background prefill and a patient's turn, or two sessions sharing the model)."""

    def _tokens(self, messages: Sequence[Message], generation_prompt: bool) -> list[int]:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        prompt = self._formats[generation_prompt](messages=chat).prompt
        return list(self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def _prepare_prefix(self, prefix: list[int], full: list[int]) -> None:
        """Make sure the model's cache holds the system prefix before generation starts."""
        llm = self._llm
        cached = _common_prefix(llm._input_ids[: llm.n_tokens].tolist(), full)
        if not prefix or cached >= len(prefix):
            return
        key = tuple(prefix)
        state = self._snapshots.get(key)
        if state is not None:
            llm.load_state(state)
            self._snapshots.move_to_end(key)
            return
        llm.reset()
        llm.eval(prefix)
        self._snapshots[key] = llm.save_state()
        while len(self._snapshots) > PREFIX_SNAPSHOTS:
            self._snapshots.popitem(last=False)

    def fit(self, messages: Sequence[Message], max_tokens: int) -> list[Message]:
        """Drop the oldest turns (never the system prompt or the last message) to fit the context."""
        kept = list(messages)
        budget = self._llm.n_ctx() - max_tokens - 8
        while len(kept) > 2 and len(self._tokens(kept, True)) > budget:
            del kept[1]
        return kept

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        with self._lock:
            yield from self._stream(messages, options)

    def _stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        messages = self.fit(messages, options.max_tokens)
        full = self._tokens(messages, True)
        if len(full) + options.max_tokens > self._llm.n_ctx():
            raise LLMError(
                f"the conversation needs {len(full)} tokens but the model's context holds "
                f"{self._llm.n_ctx()}; raise llm_context or send a shorter message"
            )
        prefix: list[int] = []
        if messages and messages[0].role == "system":
            prefix = self._tokens(messages[:1], False)
            if full[: len(prefix)] != prefix:
                prefix = []
        self._prepare_prefix(prefix, full)
        llm = self._llm
        reused = _common_prefix(llm._input_ids[: llm.n_tokens].tolist(), full[:-1])
        stats = TurnStats(prompt_tokens=len(full), reused_tokens=reused)
        self.last_stats = stats
        try:
            pieces = llm.create_completion(
                prompt=full,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stop=list(options.stop) or None,
                seed=options.seed,
                stream=True,
            )
            for chunk in pieces:
                text = chunk["choices"][0]["text"]
                if text:
                    stats.generated_tokens += 1
                    yield text
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"llama.cpp failed while generating: {exc}") from exc

    def prefill(self, messages: Sequence[Message]) -> None:
        """Read `messages` into the cache now (system prompt from a snapshot, the rest
        incrementally), so the next turn that starts with them pays only for what is new."""
        with self._lock:
            self._prefill(messages)

    def _prefill(self, messages: Sequence[Message]) -> None:
        tokens = self._tokens(self.fit(messages, 0), False)
        system = self._tokens(messages[:1], False) if messages and messages[0].role == "system" else []
        if tokens[: len(system)] != system:
            system = []
        self._prepare_prefix(system, tokens)
        llm = self._llm
        cached = _common_prefix(llm._input_ids[: llm.n_tokens].tolist(), tokens)
        if cached >= len(tokens):
            return
        if cached > 0 and llm._ctx.kv_cache_seq_rm(-1, cached, -1):
            llm.n_tokens = cached
        else:
            llm.reset()
            cached = 0
        llm.eval(tokens[cached:])

    def close(self) -> None:
        self._snapshots.clear()
        self._llm.close()
