"""Files the commands write for the user: checked before any work, written so none is half-done.

A reply that takes a minute to make should not be lost at the end because its
folder is read-only, so output paths are checked first. Exports hold patient data:
they are created private (0600), and atomically (a temporary file in the same
folder, then a rename), so a failed write leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from coach.cli.main import err_console, fail
from coach.cli.text import shown


def check_output(path: Path, option: str) -> None:
    """Fail now, with the reason, if `path` could not be written later; make its folder if missing."""
    if path.is_dir():
        fail(f"{option} {path} is a folder; give a file name, e.g. {path / 'out'}")
    parent = path.parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            fail(f"{option}: cannot create the folder {parent} ({exc.strerror}); "
                 "create it yourself or pick another path")
        err_console.print(f"[dim]created the folder {shown(parent)}[/]", highlight=False)
    elif not parent.is_dir():
        fail(f"{option} {path}: {parent} is a file, not a folder; pick another path")
    writable = os.access(parent, os.W_OK | os.X_OK) and (not path.exists() or os.access(path, os.W_OK))
    if not writable:
        fail(f"{option}: no permission to write {path}; pick a folder you can write to "
             f"or ask its owner (`ls -ld {parent}`)")


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a new 0600 file that replaces any old one in one step."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
