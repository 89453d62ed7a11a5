"""The three language-model backends, each with a real model or a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coach.llm import GenerationOptions, LLMError, Message
from coach.llm.llamacpp import LlamaCppModel
from coach.llm.openai_compat import OpenAICompatibleModel
from tests.conftest import model_path

pytestmark = pytest.mark.slow

SYSTEM = Message("system", "You are a friendly coach. Answer in one short sentence. " * 8)
OPTS = GenerationOptions(max_tokens=16, temperature=0.0, seed=1)


def test_llamacpp_streams_and_reuses_the_system_prefix() -> None:
    model = LlamaCppModel(model_path("smollm2-135m"), n_ctx=1024, threads=2)
    try:
        first = list(model.stream([SYSTEM, Message("user", "Hello!")], OPTS))
        assert first and "".join(first).strip()
        cold = model.last_stats
        assert cold.generated_tokens == len(first)
        list(model.stream([SYSTEM, Message("user", "Tell me about walking.")], OPTS))
        warm = model.last_stats
        # Everything up to the new user message came from the cache.
        system_tokens = len(model._tokens([SYSTEM], False))
        assert warm.reused_tokens >= system_tokens > 40
        # A different system prompt in between (another patient) does not lose the first one.
        other = Message("system", "You are terse.")
        list(model.stream([other, Message("user", "Hi")], OPTS))
        list(model.stream([SYSTEM, Message("user", "And sleep?")], OPTS))
        assert model.last_stats.reused_tokens >= system_tokens
    finally:
        model.close()


def test_llamacpp_drops_old_turns_to_fit_the_context() -> None:
    model = LlamaCppModel(model_path("smollm2-135m"), n_ctx=512, threads=2)
    try:
        history = [SYSTEM]
        for i in range(40):
            history += [Message("user", f"Message number {i} about my walk."),
                        Message("assistant", "That is good to hear, keep going.")]
        history.append(Message("user", "What next?"))
        fitted = model.fit(history, 64)
        assert fitted[0] == SYSTEM and fitted[-1] == history[-1] and len(fitted) < len(history)
        assert list(model.stream(history, OPTS))
    finally:
        model.close()


_PRINT_WHILE_LOADING = """
import sys, threading
from pathlib import Path
from coach.llm.llamacpp import LlamaCppModel
loader = threading.Thread(target=LlamaCppModel, args=(Path(sys.argv[1]),), kwargs={"n_ctx": 512})
loader.start()
n = 0
while loader.is_alive() or n < 50:
    print(f"line {n}", flush=True)
    n += 1
loader.join()
print(f"printed {n}", flush=True)
"""


def test_loading_a_model_in_the_background_never_swallows_what_the_coach_prints() -> None:
    """The conversation loads its model on a thread while it prints (a crisis reply, say)."""
    out = subprocess.run([sys.executable, "-c", _PRINT_WHILE_LOADING, str(model_path("smollm2-135m"))],
                         capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    printed = int(out[-1].split()[1])
    assert out[:-1] == [f"line {n}" for n in range(printed)]


def test_llamacpp_missing_file() -> None:
    with pytest.raises(LLMError, match="does not exist"):
        LlamaCppModel(Path("/nonexistent/model.gguf"))


def test_transformers_backend_streams_with_prefix_cache() -> None:
    from coach.llm.transformers_backend import TransformersModel

    model = TransformersModel(model_path("smollm2-135m"), device="cpu")
    try:
        pieces = list(model.stream([SYSTEM, Message("user", "Hello!")], OPTS))
        assert "".join(pieces).strip()
        assert model.last_stats.reused_tokens > 40
        again = list(model.stream([SYSTEM, Message("user", "Hello!")], OPTS))
        assert "".join(again) == "".join(pieces)  # greedy decoding from a reused cache agrees
        # A reader that stops early (sentence cap, barge-in) stops generation with it.
        long_opts = GenerationOptions(max_tokens=400, temperature=0.0)
        stream = model.stream([SYSTEM, Message("user", "Tell me a long story.")], long_opts)
        next(stream)
        stream.close()
        assert model._worker is not None and not model._worker.is_alive()
        assert model.last_stats.generated_tokens < 400
    finally:
        model.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# llama.cpp's own server, started with the same AMX guard as the in-process backend
# (a CPU that only advertises AMX would otherwise kill the server with SIGILL).
_SERVER = (
    "import runpy, sys\n"
    "from coach.llm.llamacpp import without_amx_repacking\n"
    "sys.argv = ['llama_cpp.server', *sys.argv[1:]]\n"
    "with without_amx_repacking():\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__')\n"
)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible server: llama.cpp's own, serving the test model."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, "--model", str(model_path("smollm2-135m")),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--verbose", "False"],
            stdout=sink, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log.read_text()[-800:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("llama.cpp server did not start in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_openai_backend_streams_from_a_real_server(llama_server: str) -> None:
    model = OpenAICompatibleModel(llama_server)
    try:
        pieces = list(model.stream([SYSTEM, Message("user", "Hello!")], OPTS))
        assert len(pieces) > 1 and "".join(pieces).strip()
    finally:
        model.close()


def test_openai_backend_unreachable_server_is_a_clear_error() -> None:
    model = OpenAICompatibleModel(f"http://127.0.0.1:{_free_port()}/v1")
    with pytest.raises(LLMError, match="cannot reach the language-model server"):
        list(model.stream([Message("user", "hi")], OPTS))
