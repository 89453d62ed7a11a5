"""Where the coach keeps its files and which language model it talks to.

Settings come, lowest priority first, from built-in defaults, a TOML file
(`$COACH_HOME/config.toml`, or `--config`), environment variables and CLI flags,
so an operator can point one install at a GPU server without touching code.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

ENV_PREFIX = "COACH_"


class ConfigError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Every knob of one coach install. Field names double as TOML keys and env suffixes."""

    home: Path
    """Root for the model cache, the database, its key and the config file."""
    llm_backend: str = "llamacpp"
    """`llamacpp` (GGUF, default), `transformers` (safetensors/GGUF; right on a GPU) or `openai`."""
    llm_model: str = "qwen2.5-1.5b"
    """A bundled model name (see `coach models --list`) or a path to a GGUF file / HF folder."""
    llm_url: str = ""
    """Base URL of an OpenAI-compatible server (vLLM, llama.cpp server) for the `openai` backend."""
    llm_server_model: str = ""
    """Model name to send to the OpenAI-compatible server; empty means the server's default."""
    llm_api_key: str = ""
    """Bearer token for the server, if it wants one."""
    llm_threads: int = 0
    """CPU threads for llama.cpp; 0 means all cores."""
    llm_context: int = 4096
    """Context window in tokens for local backends."""
    llm_max_tokens: int = 220
    """Cap on one reply: coaching replies are short, and long ones cost the patient waiting time."""
    llm_temperature: float = 0.6
    device: str = "auto"
    """`cpu`, `cuda` or `auto` for the transformers backend."""
    locale: str = "US"
    """Which emergency and crisis numbers the fixed safety replies give (US, UK, EU, ...)."""
    db_key_file: Path | None = None
    """File holding the database key (mode 0600); defaults to `$COACH_HOME/db.key`."""
    models_path: Path | None = None
    """Where assembled models live; defaults to `$COACH_HOME/models` (share one cache here)."""
    articles_path: Path | None = None
    """Folder of reviewed knowledge articles; defaults to the ones shipped in `knowledge/articles`."""
    kb_embedder: str = "minilm-l6"
    """Bundled embedding model for the knowledge index (`minilm-l6` or `mpnet-base`)."""
    asr_model: str = "whisper-base"
    """Speech recognition: `whisper-base` (multilingual, default) or `whisper-tiny.en` (light)."""
    tts_rate: float = 0.9
    """Speaking rate relative to the voice's own; below 1 is slower, easier for older listeners."""
    notes_after_session: str = "background"
    """`background`: when a conversation ends, a detached writer makes the clinician's note of
    the patient's ended sessions (log: `$COACH_HOME/logs/notes.log`), so the patient never waits
    for it; `off`: notes come only from `coach notes make`."""
    notes_writer: str = "model"
    """Who drafts a note before the support check: `model` (the configured language model) or
    `extractive` (the patient's own sentences; no model, seconds instead of tens of seconds)."""
    kb_reranker: str = ""
    """Optional bundled model that re-ranks retrieved passages (`mpnet-base`): more accurate,
    slower (about 100 ms more per question on two cores). Empty means off."""

    @property
    def models_dir(self) -> Path:
        return self.models_path or self.home / "models"

    @property
    def db_path(self) -> Path:
        return self.home / "coach.db"

    @property
    def key_path(self) -> Path:
        return self.db_key_file or self.home / "db.key"

    @property
    def kb_index_path(self) -> Path:
        """Derived from the articles and the embedder only, so `coach kb build` can remake it."""
        return self.home / "knowledge" / f"index-{self.kb_embedder}.sqlite"

    @property
    def articles_dir(self) -> Path:
        from knowledge.index import ARTICLES_DIR

        return self.articles_path or ARTICLES_DIR

    @property
    def config_path(self) -> Path:
        return self.home / "config.toml"


def default_home() -> Path:
    """The per-user data directory, unless COACH_HOME says otherwise."""
    env = os.environ.get(f"{ENV_PREFIX}HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("avatar-health-coach", appauthor=False))


def _coerce(name: str, raw: Any, template: Any) -> Any:
    """Turn a TOML or env value into the field's type, with an error that names the field."""
    try:
        if name in ("home", "db_key_file", "models_path", "articles_path"):
            return Path(str(raw)).expanduser() if raw not in (None, "") else None
        if isinstance(template, bool):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(template, int):
            return int(raw)
        if isinstance(template, float):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r} has an invalid value {raw!r}: {exc}") from exc


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Merge defaults, config file, environment and explicit overrides (CLI flags)."""
    settings = Settings(home=default_home())
    path = config_file or settings.config_path
    values: dict[str, Any] = {}
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder; give the TOML file inside it, "
                          f"e.g. --config {path / 'config.toml'}")
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read the config file {path} ({exc.strerror}); check its "
                              f"owner and mode (`ls -l {path}`)") from exc
    elif config_file is not None:
        raise ConfigError(f"config file {path} does not exist")
    known = {f.name: getattr(settings, f.name) for f in fields(Settings)}
    for name in known:
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env is not None and name != "home":
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} in {path}")
    coerced = {k: _coerce(k, v, known[k]) for k, v in values.items()}
    if coerced.get("home") is None:
        coerced.pop("home", None)
    settings = replace(settings, **coerced)
    _check(settings)
    return settings


CHOICES: dict[str, tuple[str, ...]] = {
    "llm_backend": ("llamacpp", "transformers", "openai"),
    "notes_after_session": ("background", "off"),
    "notes_writer": ("model", "extractive"),
    "kb_embedder": ("minilm-l6", "mpnet-base"),
    "kb_reranker": ("", "mpnet-base", "minilm-l6"),
    "asr_model": ("whisper-base", "whisper-tiny.en"),
}
"""Settings with a fixed set of values; a typo here would otherwise surface much later,
or never (an unknown device quietly ran on the CPU)."""

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,2})?)$")
"""What torch takes for the transformers backend; llama.cpp offloads for any `cuda`."""

RANGES: dict[str, tuple[float, float]] = {
    "llm_threads": (0, 1024),
    "llm_context": (256, 1_048_576),
    "llm_max_tokens": (1, 32_768),
    "llm_temperature": (0.0, 2.0),
    "tts_rate": (0.25, 4.0),
}


def _check(settings: Settings) -> None:
    """Refuse values the coach cannot use, naming the setting and what it may be."""
    for name, allowed in CHOICES.items():
        value = getattr(settings, name)
        if value not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise ConfigError(f"{name} must be one of {shown}, not {value!r}")
    if not _DEVICE.match(settings.device):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N (a GPU number) or mps, "
                          f"not {settings.device!r}")
    for name, (low, high) in RANGES.items():
        value = getattr(settings, name)
        if not low <= value <= high:
            raise ConfigError(f"{name} must be from {low:g} to {high:g}, not {value!r}")
    if settings.llm_backend == "openai" and not settings.llm_url:
        raise ConfigError("the openai backend needs llm_url (e.g. http://127.0.0.1:8000/v1)")
