"""Any server that speaks the OpenAI chat-completions protocol (vLLM, llama.cpp server).

This is how one install scales past a single machine: many stateless coach
processes, one inference server with its own batching and prefix caching.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence

import httpx

from coach.llm.base import GenerationOptions, LLMError, Message, TurnStats


class OpenAICompatibleModel:
    """Streams chat completions over HTTP server-sent events."""

    def __init__(self, base_url: str, *, model: str = "", api_key: str = "",
                 timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = model or "server-default"
        self._model = model
        self.last_stats = TurnStats()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0), headers=headers)

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        body: dict[str, object] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": True,
        }
        if self._model:
            body["model"] = self._model
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        stats = TurnStats()
        self.last_stats = stats
        url = f"{self.base_url}/chat/completions"
        try:
            with self._client.stream("POST", url, json=body) as response:
                if response.status_code != 200:
                    detail = response.read().decode("utf-8", "replace")[:300]
                    raise LLMError(f"server at {url} answered {response.status_code}: {detail}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        event = json.loads(data)
                    except json.JSONDecodeError as exc:
                        raise LLMError(f"server at {url} sent a malformed event: {data[:120]}") from exc
                    choices = event.get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content") or ""
                    if piece:
                        stats.generated_tokens += 1
                        yield piece
        except httpx.HTTPError as exc:
            raise LLMError(
                f"cannot reach the language-model server at {self.base_url} ({exc}); "
                "start it, or fix llm_url in the config / COACH_LLM_URL"
            ) from exc

    def prefill(self, messages: Sequence[Message]) -> None:
        """The server manages its own prefix cache (vLLM, llama.cpp server)."""

    def close(self) -> None:
        self._client.close()
