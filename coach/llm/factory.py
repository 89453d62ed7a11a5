"""Pick and open the backend the settings ask for."""

from __future__ import annotations

from pathlib import Path

from coach import catalog, provision
from coach.config import Settings
from coach.llm.base import LanguageModel, LLMError


def resolve_model_path(settings: Settings) -> Path:
    """A bundled model name becomes its cache path; anything else is taken as a path."""
    names = {m.name for m in catalog.CATALOG if m.kind == "llm"}
    if settings.llm_model in names:
        try:
            return provision.require(settings.models_dir, settings.llm_model)
        except provision.ProvisionError as exc:
            raise LLMError(str(exc)) from exc
    path = Path(settings.llm_model).expanduser()
    if not path.exists():
        raise LLMError(
            f"llm_model {settings.llm_model!r} is neither a bundled model "
            f"({', '.join(sorted(names))}) nor an existing path"
        )
    return path


def open_language_model(settings: Settings) -> LanguageModel:
    if settings.llm_backend == "openai":
        from coach.llm.openai_compat import OpenAICompatibleModel

        return OpenAICompatibleModel(settings.llm_url, model=settings.llm_server_model,
                                     api_key=settings.llm_api_key)
    path = resolve_model_path(settings)
    if settings.llm_backend == "transformers":
        from coach.llm.transformers_backend import TransformersModel

        return TransformersModel(path, device=settings.device, name=settings.llm_model)
    from coach.llm.llamacpp import LlamaCppModel

    gpu_layers = -1 if settings.device.startswith("cuda") else 0
    return LlamaCppModel(path, n_ctx=settings.llm_context, threads=settings.llm_threads,
                         gpu_layers=gpu_layers, name=settings.llm_model)
