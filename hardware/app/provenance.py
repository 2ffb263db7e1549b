"""Where each file of a run directory came from, and what to do when that changed.

Every stage records in ``run.json`` the sha256 of the files (or ``.npz`` arrays) it read
(``inputs``) and wrote (``outputs``), and who ran it (``by``: ``pipeline`` or the command line;
:meth:`~hardware.app.rundir.RunDir.record`). From these:

* a stage whose recorded inputs no longer match the files is *stale*
  (:meth:`~hardware.app.rundir.RunDir.stale`): the pipeline redoes it, or, where a user made it
  by hand, refuses and says how to redo it (:func:`stale_message`); ``report`` marks it;
* ``lava-pinn run DIR --backend B`` keeps the results of the other backends measured before
  only while they were made from the same network on the same points
  (:func:`earlier_backends`); otherwise they are removed, with a line saying so, so a summary
  never shows one network's errors beside another's activity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

STAGE_COMMANDS = {  # in the pipeline's order of stages
    "train": "lava-pinn train {problem} --out {dir}",
    "convert": "lava-pinn convert {dir}",
    "export": "lava-pinn export {dir}",
    "run": "lava-pinn run {dir}",
    "energy": "lava-pinn energy {dir}",
    "figures": "lava-pinn pipeline {problem} --out {dir} --redo figures",
    "report": "lava-pinn report {dir}",
}


def writes(stage: str) -> Callable:
    """Decorator of a stage function ``fn(rd, ...)``: it runs holding ``rd``'s write lock."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(rd, *args: Any, **kwargs: Any) -> Any:
            with rd.writing(f"stage {stage}"):
                return fn(rd, *args, **kwargs)

        return wrapper

    return deco


def stale_message(rd, stage: str) -> str | None:
    """One line saying that stage ``stage`` of ``rd`` is stale and how to redo it, or ``None``."""
    changed = rd.stale(stage)
    if not changed:
        return None
    cmd = STAGE_COMMANDS.get(stage, f"lava-pinn pipeline {{problem}} --out {{dir}} --redo {stage}")
    by = rd.made_by_hand(stage)
    made = f" (made by `{by}`)" if by else ""
    return (
        f"{stage}{made} is stale: {', '.join(changed)} changed since it ran; "
        f"run `{cmd.format(dir=rd.path, problem=rd.problem or 'PROBLEM')}` again"
    )


def earlier_backends(
    rd, running: tuple[str, ...], network_of: Callable[[str], str], say: Callable[[str], None]
) -> tuple[dict, list[str]]:
    """The results of backends the last ``run`` measured that this one does not rerun, kept
    where they are still what this run directory holds: made from the network file
    (``network_of(backend)``: ``network.h5`` or ``snn.pt``) as it is now, with its activity
    file and ``predictions.npz`` array unchanged since. Returns ``(info per kept backend, their
    output refs)``; the others' activity files and arrays are removed (one ``say`` line each)."""
    from hardware.app.rundir import array_key

    prev = rd.stage("run") or {}
    outputs = prev.get("outputs") or {}
    kept: dict = {}
    refs: list[str] = []
    for b, bi in (prev.get("info") or {}).items():
        if not isinstance(bi, dict) or "backend" not in bi or b in running:
            continue
        act = rd.file("activity", backend=b).name
        arr = f"{rd.file('predictions').name}#{array_key(b)}"
        why = None
        if bi.get("network_sha256") is None:
            why = "recorded without the network it ran"
        elif rd.digest(network_of(b)) != bi["network_sha256"]:
            why = f"made from an earlier {network_of(b)}"
        elif any(rd.digest(r) is None or rd.digest(r) != outputs.get(r) for r in (act, arr)):
            why = "its files changed or the evaluation points moved since"
        if why is None:
            kept[b] = bi
            refs += [act, arr]
            continue
        rd.file("activity", backend=b).unlink(missing_ok=True)
        rd.drop_predictions(array_key(b))
        say(
            f"{b}: earlier results removed ({why}); measure it again with "
            f"`lava-pinn run {rd.path} --backend {b}`"
        )
    return kept, refs


__all__ = ["STAGE_COMMANDS", "earlier_backends", "stale_message", "writes"]
