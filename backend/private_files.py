"""Files only this service's user may read: the data directory (0700), keys and secrets (0600).

Modes are set at creation (`os.open`/`mkdir` with a mode), so a file is never readable by other local
users, not even for the moment between writing and a later chmod.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path

from pydantic import SecretStr

from backend.settings import SECRET_FILE, Settings


def private_dir(path: Path) -> None:
    """Create `path` 0700; an existing directory (from an older install) is tightened to 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a file created 0600 (replacing an earlier one atomically)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def touch_private(path: Path) -> None:
    """Create an empty 0600 file unless it exists (SQLite gives its -wal/-shm files the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def prepare_data_dir(settings: Settings) -> None:
    """The data directory 0700 and, for the embedded store, the SQLite file 0600 before SQLite makes it."""
    private_dir(settings.data_dir)
    if settings.embedded:
        touch_private(settings.data_dir / "avlabel.sqlite3")


def ensure_secret(settings: Settings) -> None:
    """Development without AVLABEL_SECRET_KEY: use the install's own random secret, made at first run.

    Never a fixed string: a known secret would let anyone forge console sessions and CSRF tokens.
    Outside development the settings validator already refused an empty or placeholder secret.
    """
    if settings.secret_key.get_secret_value():
        return
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    value = ""
    for _ in range(50):  # a concurrent first run may still be writing it
        value = path.read_text().strip()
        if value:
            break
        time.sleep(0.05)
    settings.secret_key = SecretStr(value)
