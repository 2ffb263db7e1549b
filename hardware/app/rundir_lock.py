"""One writer at a time per run directory: an exclusive ``flock`` on ``DIR/.lock``.

Every command that writes a run directory (a stage, ``pipeline``, ``report``) holds the lock
for as long as it writes (:func:`hold`; re-entrant inside one process, so ``pipeline`` holding
it can call the stages that take it too). A second process finds it taken and gets
:class:`RunDirBusy` at once, naming the holder's PID, its command line and since when, or waits
for it with ``wait_s`` (``$LAVA_PINN_WAIT`` seconds for the commands). The kernel drops the lock
when its holder dies, however it dies (SIGKILL included), so a stale lock from a dead process
is simply taken over; the holder's record in the file is overwritten then.

Lava forks its workers while the lock is held; a forked child closes its copy of the lock's
file descriptor at once (:func:`os.register_at_fork`), so a worker outliving a killed command
never keeps the directory locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

LOCK_FILE = ".lock"
WAIT_ENV = "LAVA_PINN_WAIT"


class RunDirBusy(RuntimeError):
    """Another process is writing the run directory; the message names it."""


_held: dict[Path, list] = {}  # resolved dir -> [fd, depth]
COMMAND: str | None = None  # set by ``lava-pinn``'s main while a command runs in this process


def _close_in_child() -> None:
    for fd, _ in list(_held.values()):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


def command_line() -> str:
    """This process's command line as a user typed it (``lava-pinn ...`` for the CLI)."""
    if COMMAND:
        return COMMAND
    argv = list(sys.argv) or ["python"]
    head = Path(argv[0]).name
    if head in ("cli.py", "__main__.py", "lava-pinn"):
        argv[0] = "lava-pinn"
    return " ".join(argv)


def holder(path: str | os.PathLike) -> dict | None:
    """What the lock file of run directory ``path`` says about its last holder (``pid``,
    ``command``, ``doing``, ``since``), or ``None``."""
    try:
        data = json.loads((Path(path) / LOCK_FILE).read_text() or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _wait_default() -> float:
    text = os.environ.get(WAIT_ENV, "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"${WAIT_ENV} must be a number of seconds to wait for a busy run directory, "
            f"got {text!r}"
        ) from None
    if not value >= 0:
        raise ValueError(f"${WAIT_ENV} must be >= 0 seconds, got {text!r}")
    return value


def _busy(path: Path, waited: float) -> RunDirBusy:
    h = holder(path) or {}
    who = f"PID {h.get('pid', '?')}"
    if h.get("command"):
        who += f" (`{h['command']}`"
        who += f", {h['doing']}" if h.get("doing") else ""
        who += f", since {h['since']})" if h.get("since") else ")"
    tried = f" (waited {waited:g} s)" if waited else ""
    return RunDirBusy(
        f"run directory {path} is being written by {who}{tried}; wait until it finishes, "
        f"use another folder, or set ${WAIT_ENV}=SECONDS to wait for it"
    )


@contextlib.contextmanager
def hold(path: str | os.PathLike, doing: str, wait_s: float | None = None) -> Iterator[bool]:
    """Hold the write lock of run directory ``path`` (an existing folder) while the block runs.

    ``doing`` (e.g. ``"stage energy"``) goes into the lock file beside the PID and command
    line. ``wait_s``: seconds to wait for another holder (``None``: ``$LAVA_PINN_WAIT``, else
    0: refuse at once). Yields ``True`` where this call took the lock, ``False`` where this
    process held it already. :class:`RunDirBusy` when another process holds it.
    """
    key = Path(path).resolve()
    if key in _held:
        _held[key][1] += 1
        try:
            yield False
        finally:
            _held[key][1] -= 1
        return
    wait_s = _wait_default() if wait_s is None else float(wait_s)
    fd = os.open(key / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    t0 = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - t0
                if waited >= wait_s:
                    raise _busy(key, round(waited, 1) if wait_s else 0) from None
                time.sleep(min(0.2, wait_s - waited))
        record = {
            "pid": os.getpid(),
            "command": command_line(),
            "doing": doing,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    _held[key] = [fd, 1]
    try:
        yield True
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # nobody holds it now
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


__all__ = ["LOCK_FILE", "WAIT_ENV", "RunDirBusy", "command_line", "hold", "holder"]
