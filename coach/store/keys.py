"""The database key: from COACH_DB_KEY, or a 0600 key file made on first use.

A 64-hex-digit key is used raw (no key derivation on every connection); any
other string is treated as a passphrase, which SQLCipher stretches itself.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

ENV_KEY = "COACH_DB_KEY"
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class KeyError_(Exception):
    """The key is missing, unreadable or unsafe; the message says how to fix it."""


def key_literal(key: str) -> str:
    """What goes into `PRAGMA key`: SQLCipher's raw-key form for hex keys, else the passphrase."""
    if _HEX.match(key):
        return f"x'{key.lower()}'"
    return key


def load_key(key_path: Path, create: bool) -> str:
    """Return the key, creating a random one in `key_path` (mode 0600) if allowed."""
    env = os.environ.get(ENV_KEY)
    if env is not None:
        # An empty key would open (or make) a store without encryption, and against an
        # existing store it reads as "wrong key or damaged file": neither is what happened.
        if not env.strip():
            raise KeyError_(
                f"{ENV_KEY} is set but empty; unset it (`unset {ENV_KEY}`) to use the key file "
                f"{key_path}, or set it to the store's key"
            )
        return env.strip()
    try:
        return _key_from_file(key_path, create)
    except UnicodeDecodeError as exc:
        raise KeyError_(f"key file {key_path} is not text; restore it from your backup") from exc
    except OSError as exc:
        raise KeyError_(
            f"cannot {'create' if create else 'read'} the key file {key_path} ({exc.strerror}); "
            f"check its owner and mode and its folder's (`ls -ld {key_path.parent} {key_path}`), "
            "or set COACH_HOME to a folder you can write to"
        ) from exc


def _key_from_file(key_path: Path, create: bool) -> str:
    if key_path.exists():
        mode = stat.S_IMODE(key_path.stat().st_mode)
        if mode & 0o077:
            raise KeyError_(
                f"key file {key_path} can be read by other users (mode {mode:o}); "
                f"run `chmod 600 {key_path}`"
            )
        key = key_path.read_text(encoding="utf-8").strip()
        if not key:
            raise KeyError_(f"key file {key_path} is empty; restore it from your backup")
        return key
    if not create:
        raise KeyError_(
            f"no database key: set {ENV_KEY} or restore the key file {key_path}"
        )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key
