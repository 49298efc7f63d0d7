"""The registry's audit key: keyed (HMAC-SHA256) tamper evidence for the registry file.

An unkeyed hash chain only proves that rows were not edited by someone who did not bother
to recompute the chain. The registry's log chain and the MACs of its run, artifact, gate
and policy rows are HMAC-SHA256 under a secret key kept **outside** the database, so an
edit made with the SQLite file alone (rows rewritten, the chain recomputed, an artifact
row pointed at another file) is detected by :meth:`Registry.verify` and refused by
:meth:`Registry.load_artifact`.

Where the key comes from, first match wins:

1. ``$MLOPSKIT_AUDIT_KEY`` — the key itself, hex (at least 32 bytes = 64 hex digits); for
   CI and serving processes that get secrets from the environment;
2. ``$MLOPSKIT_AUDIT_KEY_FILE`` — an absolute path to a file holding the hex key;
3. ``$XDG_CONFIG_HOME/mlopskit/audit.key`` (default ``~/.config/mlopskit/audit.key``).

The key file is created on the first write to a registry (32 random bytes from
:mod:`secrets`, file mode 0600, created exclusively so two processes cannot race); reading
commands never create it. A key file readable by group or others is refused. Keep a copy
of the key where the registry's backups are not: whoever holds both can forge history.
The registry stores only the key's id (a hash of the key), so ``verify`` can say "this
registry was written with another key" rather than "every row is broken".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "AuditKey",
    "AuditKeyError",
    "default_key_path",
    "load_key",
]

KEY_ENV = "MLOPSKIT_AUDIT_KEY"
KEY_FILE_ENV = "MLOPSKIT_AUDIT_KEY_FILE"
_MIN_BYTES = 32


class AuditKeyError(ValueError):
    """The audit key is missing, malformed or unsafely stored."""


@dataclass(frozen=True)
class AuditKey:
    """A secret HMAC key and where it came from (the key itself is never printed)."""

    secret: bytes = field(repr=False)
    source: str

    @property
    def key_id(self) -> str:
        """A public identifier of the key (not enough to recover it)."""
        return hashlib.sha256(b"mlopskit audit key id\0" + self.secret).hexdigest()[:16]

    def mac(self, kind: str, row: Mapping[str, Any]) -> str:
        """HMAC-SHA256 of one row (canonical JSON), bound to its table ``kind``."""
        payload = json.dumps({"kind": kind, "row": dict(row)}, sort_keys=True, default=str)
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()

    def chain(self, prev_hash: str, row: Mapping[str, Any]) -> str:
        """The keyed chain link of a transitions row after ``prev_hash``."""
        payload = prev_hash + json.dumps(dict(row), sort_keys=True, default=str)
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def equal(a: str | None, b: str | None) -> bool:
        return a is not None and b is not None and hmac.compare_digest(a, b)


def default_key_path() -> Path:
    """``$MLOPSKIT_AUDIT_KEY_FILE``, else ``$XDG_CONFIG_HOME/mlopskit/audit.key``."""
    env = os.environ.get(KEY_FILE_ENV, "").strip()
    if env:
        p = Path(env).expanduser()
        if not p.is_absolute():
            raise AuditKeyError(f"{KEY_FILE_ENV} must be an absolute path; got {env!r}.")
        return p
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".config"
    return root / "mlopskit" / "audit.key"


def _parse(text: str, where: str) -> bytes:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise AuditKeyError(
            f"audit key from {where} must be hex digits; it is not. Generate one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        ) from None
    if len(secret) < _MIN_BYTES:
        raise AuditKeyError(
            f"audit key from {where} has {len(secret)} bytes; at least {_MIN_BYTES} are needed."
        )
    return secret


def load_key(*, create: bool) -> AuditKey:
    """The audit key (see the module docstring); ``create=True`` makes the key file if absent.

    Raises :class:`AuditKeyError` when there is no key and ``create`` is false, when the key
    is malformed, or when the key file is readable by group or others.
    """
    env = os.environ.get(KEY_ENV, "")
    if env.strip():
        return AuditKey(_parse(env, f"${KEY_ENV}"), f"${KEY_ENV}")
    path = default_key_path()
    if not path.exists():
        if not create:
            raise AuditKeyError(
                f"no audit key: {path} does not exist and ${KEY_ENV} is not set. The key is "
                "created by the first write to a registry; a registry written elsewhere needs "
                f"its key (set ${KEY_ENV} or ${KEY_FILE_ENV})."
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(_MIN_BYTES) + "\n")
    if not path.is_file():
        raise AuditKeyError(f"audit key path {path} is not a file.")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"audit key file {path} is accessible by group or others (mode "
            f"{stat.filemode(mode)}); run `chmod 600 {path}`."
        )
    return AuditKey(_parse(path.read_text(), str(path)), str(path))
