"""``lava-pinn run`` and ``lava-pinn energy``: run a run directory's network, then price it.

    lava-pinn run DIR --backend torch-twin --backend lava-cpu [--points N]
    lava-pinn energy DIR --profile loihi2 --profile cmos-45nm [--profile my-chip.toml]

``run`` loads ``DIR/network.h5`` (``DIR/snn.pt`` for the float backends), evaluates it on the
problem's evaluation grid (Lava backends: a seeded subset of ``--points`` grid points, default
:data:`~hardware.app.stages.LAVA_POINTS`; torch backends: the whole grid unless ``--points``
is given) and writes

* ``DIR/predictions.npz``: ``x`` (the whole grid), ``exact`` where the problem has an analytic
  solution (``reference`` otherwise), ``ann`` (``DIR/checkpoint.pt`` on the grid) and
  ``snn_<backend>`` (``-`` -> ``_``) on the grid, NaN where a backend did not evaluate;
* ``DIR/activity_<backend>.json``: the measured activity (:mod:`hardware.costing`);
* stage ``run`` in ``DIR/run.json`` (options, per-backend errors, wall times, versions).

``energy`` reads the activity of ``--backend`` (default: the first present of
:data:`~hardware.app.stages.ENERGY_BACKENDS`), prices it under each ``--profile`` (a registered
name or a TOML profile file) with the ANN beside it, puts the errors of ``predictions.npz``
next to it, and writes
``DIR/energy.json``, ``energy_layers.csv``, ``energy_totals.csv``, ``energy.md``, ``energy.tex``
(tables that fit one paper column), ``energy_appendix.tex`` (every column, ``table*``) and
``DIR/figures/energy_{firing_rates,pareto}.png``; stage ``energy`` in ``run.json``.

The work is :func:`hardware.app.stages.run_stage` and :func:`~hardware.app.stages.energy_stage`
(what ``lava-pinn pipeline`` calls too); their flags come from
:class:`~hardware.app.stages.RunOptions` and :class:`~hardware.app.stages.EnergyOptions`.
The commands register with :func:`hardware.app.cli.register_command` when this module is imported
(entry point ``lava_pinn.commands``: ``hardware = "hardware.app.run_cli"``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hardware.app.cli import CLIError, positive_int, register_command, rundir_hint
from hardware.app.stages import (
    EnergyOptions,
    RunOptions,
    energy_stage,
    run_stage,
)
from lava_pinn.options import add_arguments, deprecated_alias, from_args, positive_float


def _rundir(path: Path):
    from hardware.app.rundir import RunDir, RunDirError

    try:
        return RunDir(path)
    except RunDirError as err:
        raise CLIError(str(err), "create the run directory first") from None


# ------------------------------------------------------------------------------------ run
def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (with network.h5 or snn.pt)")
    add_arguments(p, RunOptions)
    deprecated_alias(p, "--batch", "--lava-batch", "batch", type=positive_int)
    deprecated_alias(p, "--timeout", "--timeout-s", "timeout_s", type=positive_float)
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")


def _run_run(args: argparse.Namespace) -> int:
    import torch

    from hardware.app.rundir import RunDirError
    from hardware.backends import BackendUnavailable

    torch.set_num_threads(args.threads)
    rd = _rundir(args.dir)
    opts = RunOptions(**from_args(args, RunOptions))
    try:
        run_stage(rd, opts, say=print)
    except RunDirError as err:
        raise CLIError(str(err), rundir_hint(err)) from None
    except BackendUnavailable as err:
        raise CLIError(str(err), "pick another backend") from None
    print(f"predictions {rd.file('predictions')}")
    return 0


# ------------------------------------------------------------------------------------ energy
def _energy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (after `lava-pinn run`)")
    add_arguments(p, EnergyOptions)


def _run_energy(args: argparse.Namespace) -> int:
    from hardware.app.rundir import RunDirError

    rd = _rundir(args.dir)
    opts = EnergyOptions(**from_args(args, EnergyOptions))
    try:
        rep = energy_stage(rd, opts)
    except RunDirError as err:
        raise CLIError(str(err), rundir_hint(err)) from None
    for e in rep.estimates:
        print(
            f"{e.profile:12s} ({e.kind:11s}) SNN {e.snn_total_pj * 1e-3:10.4g} nJ   "
            f"ANN ({e.ann_profile}) {e.ann_total_pj * 1e-3:10.4g} nJ FP32"
            + ("" if e.ann_int8_total_pj is None else f", {e.ann_int8_total_pj * 1e-3:.4g} nJ INT8")
            + f":  {e.verdict}"
        )
    if rep.errors:
        print("errors: " + ", ".join(f"{k} {100 * v:.3g}%" for k, v in rep.errors))
    files = rd.stage("energy")["info"]["files"]
    print(f"reports {', '.join(files)} in {rd.path}")
    return 0


register_command("run", "run DIR's exported network on backends", _run_args, _run_run)
register_command("energy", "energy reports from DIR's measured activity", _energy_args, _run_energy)
