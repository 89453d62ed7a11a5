from pathlib import Path

import pytest

from coach.config import ConfigError, load_settings


def test_precedence_file_then_env_then_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text('llm_model = "from-file"\nlocale = "UK"\nllm_threads = 3\n')
    assert load_settings().llm_model == "from-file"
    assert load_settings().llm_threads == 3
    monkeypatch.setenv("COACH_LLM_MODEL", "from-env")
    settings = load_settings()
    assert settings.llm_model == "from-env"
    assert settings.locale == "UK"
    assert load_settings(llm_model="from-flag").llm_model == "from-flag"


def test_home_defaults_and_models_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    # An operator's own models path (a shared cache) must not leak into the default checked here.
    monkeypatch.delenv("COACH_MODELS_PATH", raising=False)
    settings = load_settings()
    assert settings.db_path == tmp_path / "coach.db"
    assert settings.key_path == tmp_path / "db.key"
    assert settings.models_dir == tmp_path / "models"
    monkeypatch.setenv("COACH_MODELS_PATH", str(tmp_path / "shared"))
    assert load_settings().models_dir == tmp_path / "shared"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('llm_backend = "gpt"', "llm_backend must be"),
        ('llm_backend = "openai"', "needs llm_url"),
        ("llm_threads = 'many'", "invalid value"),
        ("colour = 'blue'", "unknown setting"),
        ("not toml ===", "not valid TOML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      content: str, message: str) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('device = "tpu"', "device must be auto, cpu, cuda, cuda:N"),
        ('device = "cuda:"', "device must be"),
        ('kb_embedder = "minilm"', "kb_embedder must be one of"),
        ('kb_reranker = "bge"', "kb_reranker must be one of"),
        ('asr_model = "whisper-large"', "asr_model must be one of"),
        ('notes_writer = "gpt"', "notes_writer must be one of"),
        ("llm_temperature = 9.0", "llm_temperature must be from 0 to 2"),
        ("llm_max_tokens = 0", "llm_max_tokens must be from 1"),
        ("llm_threads = -1", "llm_threads must be from 0"),
        ("tts_rate = 0", "tts_rate must be from 0.25"),
    ],
)
def test_enumerated_and_ranged_settings_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    content: str, message: str) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings()


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_devices_torch_takes_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         device: str) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    monkeypatch.setenv("COACH_DEVICE", device)
    assert load_settings().device == device


def test_config_that_is_a_folder_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder; give the TOML file inside it"):
        load_settings(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(binary)
