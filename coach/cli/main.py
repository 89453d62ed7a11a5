"""`coach`: set up models, manage patients, probe triage, chat, benchmark.

Every command prints plain, actionable errors; a traceback is never a user's
error message. Commands that print results take `--json` for scripts.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from coach import __version__
from coach.cli.text import has_bad_bytes, shown
from coach.config import ConfigError, load_settings

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="coach",
    help="An offline AI health coach: safe triage, personal coaching, stored on your machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {shown(message)}", highlight=False)
    raise typer.Exit(code)


def _bad_argument() -> str | None:
    """Name the first argument that is not UTF-8, before it reaches the store or the terminal.

    Python hands such bytes over as lone surrogates, which cannot be encoded again: a
    name with them would fail deep inside a database write. A file name in another
    encoding is refused too; the store records paths in its audit log as UTF-8.
    """
    for n, arg in enumerate(sys.argv[1:], 1):
        if has_bad_bytes(arg):
            raw = ascii(arg.encode("utf-8", "surrogateescape"))[1:]
            return (f"argument {n} ({raw}) is not valid UTF-8 text; type it again as UTF-8 "
                    "(set a UTF-8 locale, e.g. LANG=C.UTF-8), or rename a file whose name is not UTF-8")
    return None


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOpt = None,
    version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False,
) -> None:
    """Examples:

      coach models                 # assemble and verify the bundled models
      coach doctor                 # what is ready on this machine
      coach patients add --name "Maggie Evans" --condition hypertension
      coach triage "everyone would be better off without me"
      coach chat --patient 1
    """
    if version:
        console.print(f"coach {__version__}")
        raise typer.Exit()
    from coach.cli.context import Context

    ctx.obj = Context(load_settings(config), config)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from coach.cli import avatar, bench, chat, clinician, kb, legacy, models, patients, safety, voice

    app.add_typer(patients.patients_app, name="patients")
    app.add_typer(patients.goals_app, name="goals")
    app.add_typer(bench.bench_app, name="bench")
    app.add_typer(kb.kb_app, name="kb")
    models.register(app)
    safety.register(app)
    chat.register(app)
    voice.register(app)
    avatar.register(app)
    legacy.register(app)
    clinician.register(app)


_register()


def _sigterm(_signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into KeyboardInterrupt so `finally` blocks store the turn in progress.
    raise KeyboardInterrupt


def main() -> None:
    from coach.errors import USER_ERRORS

    bad = _bad_argument()
    if bad is not None:
        err_console.print(f"[bold red]error:[/] {shown(bad)}", highlight=False)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        app()
    except USER_ERRORS as exc:
        err_console.print(f"[bold red]error:[/] {shown(exc)}", highlight=False)
        sys.exit(1)
    except ConfigError as exc:
        err_console.print(f"[bold red]config error:[/] {shown(exc)}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("\n[yellow]stopped[/]; everything said so far is saved.")
        sys.exit(130)
