"""Models run by Hugging Face transformers: the right choice for safetensors on a GPU.

It also loads a GGUF file (dequantised to full precision, so slow on a CPU).
The system prompt's KV cache is computed once per distinct prompt and a copy is
handed to each turn's `generate`, so a turn only pays for the tokens after it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteria

from coach.llm.base import GenerationOptions, LLMError, Message, TurnStats


class StopWhenSet(StoppingCriteria):  # type: ignore[misc]
    """Ends generation as soon as the reader of the stream has gone away."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool,
                          device=input_ids.device)


def _pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        _, _, number = device.partition(":")
        if not torch.cuda.is_available():
            raise LLMError(f"device={device} was asked for but torch sees no CUDA GPU; use device=cpu")
        if number and int(number) >= torch.cuda.device_count():
            raise LLMError(f"device={device}: torch sees {torch.cuda.device_count()} GPU(s), numbered "
                           "from 0; pick one of those, or device=cuda")
    if device == "mps" and not torch.backends.mps.is_available():
        raise LLMError("device=mps was asked for but torch sees no Apple GPU; use device=cpu")
    return device


class TransformersModel:
    """A causal LM loaded from a local folder (safetensors) or a GGUF file."""

    def __init__(self, path: Path, *, device: str = "auto", name: str | None = None) -> None:
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - install problem
            raise LLMError(f"transformers is not installed ({exc}); run `make demo`") from exc
        if not path.exists():
            raise LLMError(f"model path {path} does not exist")
        self.name = name or path.name
        self.last_stats = TurnStats()
        self._device = _pick_device(device)
        kwargs: dict[str, Any] = {"local_files_only": True}
        folder = path
        if path.is_file():
            folder, kwargs["gguf_file"] = path.parent, path.name
        dtype = torch.float16 if self._device.startswith("cuda") else torch.float32
        try:
            self._tok = AutoTokenizer.from_pretrained(str(folder), **kwargs)
            self._model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, **kwargs)
        except (OSError, ValueError) as exc:
            raise LLMError(f"transformers could not load {path}: {exc}") from exc
        self._model.to(self._device).eval()
        self._prefix_cache: dict[tuple[int, ...], Any] = {}
        self._worker: threading.Thread | None = None

    def _ids(self, messages: Sequence[Message], generation_prompt: bool) -> list[int]:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        ids = self._tok.apply_chat_template(chat, add_generation_prompt=generation_prompt,
                                            tokenize=True, return_dict=False)
        if hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)

    def _prefix_kv(self, prefix: list[int]) -> Any:
        from transformers import DynamicCache

        key = tuple(prefix)
        if key not in self._prefix_cache:
            cache = DynamicCache()
            with torch.no_grad():
                self._model(torch.tensor([prefix], device=self._device), past_key_values=cache,
                            use_cache=True)
            self._prefix_cache.clear()  # one system prompt at a time is enough on a GPU
            self._prefix_cache[key] = cache
        return copy.deepcopy(self._prefix_cache[key])

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        full = self._ids(messages, True)
        prefix: list[int] = []
        if messages and messages[0].role == "system":
            prefix = self._ids(messages[:1], False)
            if full[: len(prefix)] != prefix or len(prefix) >= len(full):
                prefix = []
        stats = TurnStats(prompt_tokens=len(full), reused_tokens=len(prefix))
        self.last_stats = stats
        streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
        gen_kwargs: dict[str, Any] = {
            "input_ids": torch.tensor([full], device=self._device),
            "attention_mask": torch.ones((1, len(full)), dtype=torch.long, device=self._device),
            "max_new_tokens": options.max_tokens,
            "streamer": streamer,
            "pad_token_id": self._tok.pad_token_id or self._tok.eos_token_id,
        }
        if options.temperature > 0:
            gen_kwargs.update(do_sample=True, temperature=options.temperature)
        else:
            gen_kwargs.update(do_sample=False)
        if options.seed is not None:
            torch.manual_seed(options.seed)
        if prefix:
            gen_kwargs["past_key_values"] = self._prefix_kv(prefix)
        # When the consumer stops early (sentence cap, blocked sentence, barge-in) the
        # generate thread must stop too, or the next turn would run beside it.
        stop = threading.Event()
        gen_kwargs["stopping_criteria"] = StoppingCriteriaList([StopWhenSet(stop)])
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.no_grad():
                    self._model.generate(**gen_kwargs)
            except BaseException as exc:  # surfaced to the caller below
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="transformers-generate", daemon=True)
        self._worker = worker
        worker.start()
        text = ""
        try:
            for piece in streamer:
                if not piece:
                    continue
                stats.generated_tokens += 1
                text += piece
                if any(s in text for s in options.stop):
                    break
                yield piece
        finally:
            stop.set()
            worker.join()
        if errors:
            raise LLMError(f"generation failed: {errors[0]}") from errors[0]

    def prefill(self, messages: Sequence[Message]) -> None:
        self._prefix_kv(self._ids(messages, False))

    def close(self) -> None:
        self._prefix_cache.clear()
        del self._model
