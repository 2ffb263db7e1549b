"""``lava-pinn run`` and ``lava-pinn energy``: run a run directory's network, then price it.

    lava-pinn run DIR --backend torch-twin --backend lava-cpu [--points N]
    lava-pinn energy DIR --profile loihi2 --profile cmos-45nm [--profile my-chip.toml]

``run`` loads ``DIR/network.h5`` (``DIR/snn.pt`` for the float backends), evaluates it on the
problem's evaluation grid (Lava backends: a seeded subset of ``--points`` grid points, default
:data:`LAVA_POINTS`; torch backends: the whole grid unless ``--points`` is given) and writes

* ``DIR/predictions.npz``: ``x`` (the whole grid), ``exact`` where the problem has an analytic
  solution (``reference`` otherwise), ``ann`` (``DIR/checkpoint.pt`` on the grid) and
  ``snn_<backend>`` (``-`` -> ``_``) on the grid, NaN where a backend did not evaluate;
* ``DIR/activity_<backend>.json``: the measured activity (:mod:`hardware.costing`);
* stage ``run`` in ``DIR/run.json`` (options, per-backend errors, wall times, versions).

``energy`` reads the activity of ``--backend`` (default: the first present of
:data:`ENERGY_BACKENDS`), prices it under each ``--profile`` (a registered name or a TOML profile
file) with the ANN beside it, puts the errors of ``predictions.npz`` next to it, and writes
``DIR/energy.json``, ``energy_layers.csv``, ``energy_totals.csv``, ``energy.md``, ``energy.tex``
and ``DIR/figures/energy_{firing_rates,pareto}.png``; stage ``energy`` in ``run.json``.

The commands register with :func:`hardware.app.cli.register_command` when this module is imported
(entry point ``lava_pinn.commands``: ``hardware = "hardware.app.run_cli"``).
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hardware.app.cli import CLIError, positive_int, register_command
from hardware.app.stages import LAVA_BATCH, LAVA_POINTS
from lava_pinn.metrics import field_errors

log = logging.getLogger(__name__)

ENERGY_BACKENDS = ("lava-cpu", "loihi2", "torch-twin", "lava-cpu-float", "torch-float")


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


def array_key(backend: str) -> str:
    """``predictions.npz`` key of a backend's outputs: ``snn_<backend>`` with ``-`` -> ``_``."""
    return "snn_" + backend.replace("-", "_")


def _rundir(path: Path):
    from hardware.app.rundir import RunDir, RunDirError

    try:
        return RunDir(path)
    except RunDirError as err:
        raise CLIError(str(err), "create the run directory first") from None


def _require(rd, key: str, **fields: str) -> Path:
    from hardware.app.rundir import RunDirError

    try:
        return rd.require(key, **fields)
    except RunDirError as err:
        raise CLIError(str(err), "run the command named above first") from None


def _problem_of(rd, net) -> Any:
    from lava_pinn.problems import get_problem

    name = rd.problem or net.metadata.get("problem")
    if not name:
        raise CLIError(
            f"{rd.path}: no problem recorded in run.json or in the network's metadata",
            f"create the run with `lava-pinn train PROBLEM --out {rd.path}`",
        )
    params = net.metadata.get("problem_params") or {}
    return get_problem(name, **params)


# ------------------------------------------------------------------------------------ run
def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (with network.h5 or snn.pt)")
    p.add_argument(
        "--backend",
        action="append",
        dest="backends",
        metavar="B",
        help="backend to run on (repeatable; default lava-cpu); see `hardware.available()`",
    )
    p.add_argument(
        "--points",
        type=positive_int,
        help=f"evaluate a seeded subset of N grid points (default: all for torch backends, "
        f"{LAVA_POINTS} for Lava backends)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the point subset (default 0)")
    p.add_argument(
        "--batch",
        type=positive_int,
        default=LAVA_BATCH,
        help=f"Lava: points per graph run (default {LAVA_BATCH})",
    )
    p.add_argument("--timeout", type=_positive_float, default=600.0, help="Lava watchdog (s)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")


def _subset(n: int, k: int | None, seed: int) -> np.ndarray:
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def _ann_outputs(rd, problem, x: np.ndarray) -> np.ndarray | None:
    import torch

    from lava_pinn.checkpoint import load_checkpoint
    from lava_pinn.training import predict

    ck_path = rd.file("checkpoint")
    if not ck_path.is_file():
        warnings.warn(f"{ck_path} is missing: predictions.npz gets no 'ann' array", stacklevel=2)
        return None
    ck = load_checkpoint(ck_path)
    return predict(ck.model, problem, torch.from_numpy(x), ck.hard_bc).numpy()


def _snn_outputs(problem, net, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import torch

    if net.metadata.get("hard_bc"):
        y = problem.apply_hard_bc(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    return y


def _run_run(args: argparse.Namespace) -> int:
    import torch

    import hardware
    from hardware.backends import get_backend
    from hardware.costing import save_activity

    torch.set_num_threads(args.threads)
    rd = _rundir(args.dir)
    backends = [get_backend(b).name for b in (args.backends or ["lava-cpu"])]
    backends = list(dict.fromkeys(backends))
    nets = {}
    for b in backends:  # check every artifact and backend before running anything
        needs = get_backend(b).needs
        nets[b] = hardware.load_network(_require(rd, "snn" if needs == "float" else "network"), b)
        ok, reason = get_backend(b).available()
        if not ok:
            raise CLIError(f"backend {b!r} is unavailable here: {reason}", "pick another backend")
    problem = _problem_of(rd, next(iter(nets.values())))
    ref = problem.reference()
    x = ref.points.numpy()
    arrays: dict[str, np.ndarray] = {"x": x}
    exact = ref.values.numpy()
    arrays["exact" if ref.source == "exact" else "reference"] = exact
    ann = _ann_outputs(rd, problem, x)
    if ann is not None:
        arrays["ann"] = ann
    info: dict[str, Any] = {"problem": problem.name, "points_total": int(x.shape[0])}
    print(f"{problem.name}: evaluation grid of {x.shape[0]} points")
    for b in backends:
        lava = b.startswith("lava") or b == "loihi2"
        idx = _subset(x.shape[0], args.points or (LAVA_POINTS if lava else None), args.seed)
        opts = {"batch": args.batch, "timeout_s": args.timeout} if lava else {}
        res = hardware.run(nets[b], x[idx], backend=b, **opts)
        y = np.full((x.shape[0], res.y.shape[1]), np.nan)
        y[idx] = _snn_outputs(problem, nets[b], x[idx], res.y)
        arrays[array_key(b)] = y
        save_activity(res, rd.file("activity", backend=b))
        errs = field_errors(y, exact, problem.outputs, problem.gauge_fields)
        errs_ann = field_errors(y, ann, problem.outputs) if ann is not None else {}
        info[b] = {
            **res.summary(),
            "rel_l2": errs,
            "rel_l2_vs_ann": errs_ann,
            "spikes_per_sample": float(res.layer_spikes.sum()) / res.n_points,
        }
        fmt = ", ".join(f"{k} {100 * v:.3g}%" for k, v in errs.items())
        print(
            f"{b:15s} {res.n_points:6d} points  {res.wall_s:8.2f} s  "
            f"{info[b]['spikes_per_sample']:.4g} spikes/sample  rel. L2 vs {ref.source}: {fmt}"
        )
    path = rd.save_predictions(**arrays)
    opts = {"backends": backends, "points": args.points, "seed": args.seed}
    rd.record("run", opts, info)
    print(f"predictions {path}")
    return 0


# ------------------------------------------------------------------------------------ energy
def _energy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (after `lava-pinn run`)")
    p.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        metavar="P",
        help="energy profile name or TOML file (repeatable; default: loihi2, loihi, cmos-45nm)",
    )
    p.add_argument(
        "--backend",
        help=f"whose measured activity to price (default: first of {', '.join(ENERGY_BACKENDS)})",
    )
    p.add_argument("--ann-profile", default="cmos-45nm", help="profile pricing the ANN")
    p.add_argument("--hops", type=float, default=1.0, help="router hops per spike (default 1)")


def _profile(spec: str):
    from hardware.energy import get_profile, load_profile

    if spec.endswith(".toml") or Path(spec).is_file():
        return load_profile(spec)
    return get_profile(spec)


def _pick_backend(rd, wanted: str | None) -> str:
    from hardware.backends import get_backend

    if wanted:
        b = get_backend(wanted).name
        _require(rd, "activity", backend=b)
        return b
    for b in ENERGY_BACKENDS:
        if rd.file("activity", backend=b).is_file():
            return b
    _require(rd, "activity", backend="lava-cpu")  # raises, naming `lava-pinn run`
    raise AssertionError("unreachable")  # pragma: no cover


def _errors_of(rd, backend: str) -> dict[str, float]:
    """Errors of ``snn_<backend>`` in predictions.npz against exact (or reference) values."""
    if not rd.file("predictions").is_file():
        return {}
    pred = rd.load_predictions()
    key = array_key(backend)
    ref_key = "exact" if "exact" in pred else "reference"
    if key not in pred or ref_key not in pred:
        return {}
    from lava_pinn.problems import get_problem

    outputs = [f"y{i}" for i in range(pred[key].shape[1])]
    gauge: tuple[str, ...] = ()
    if rd.problem:
        problem = get_problem(rd.problem)
        outputs, gauge = list(problem.outputs), problem.gauge_fields
    return field_errors(pred[key], pred[ref_key], outputs, gauge)


def _run_energy(args: argparse.Namespace) -> int:
    from hardware import plots, reports
    from hardware.costing import energy_report, load_activity

    rd = _rundir(args.dir)
    profiles = [_profile(p) for p in (args.profiles or ["loihi2", "loihi", "cmos-45nm"])]
    main_backend = _pick_backend(rd, args.backend)
    others = [
        b for b in ENERGY_BACKENDS if b != main_backend and rd.file("activity", backend=b).is_file()
    ]
    reps = {}
    for b in [main_backend, *others]:
        rec = load_activity(rd.file("activity", backend=b))
        reps[b] = energy_report(
            rec,
            profiles=profiles,
            errors=_errors_of(rd, b),
            label=f"{rd.problem or 'network'}, {b}",
            ann_profile=args.ann_profile,
            hops_per_spike=args.hops,
        )
    rep = reps[main_backend]
    paths = reports.write_all(rep, rd.path, stem="energy")
    act = load_activity(rd.file("activity", backend=main_backend)).activity
    figs = rd.figures
    rates = {la.name: r for la, r in zip(act.layers, act.firing_rates(), strict=True)}
    paths["firing_rates"] = plots.plot_firing_rates(rates, figs / "energy_firing_rates.png")
    first = profiles[0].name
    pts = []
    for b, r in reps.items():
        if r.errors:
            err = float(np.mean([v for _, v in r.errors]))
            e = r.estimate_for(first)
            pts.append(plots.ParetoPoint(b, r.ops.T, e.snn_total_j, err))
    if pts:
        paths["pareto"] = plots.plot_pareto(
            pts, figs / "energy_pareto.png", xlabel=f"SNN energy per inference (J), {first}"
        )
    rd.record(
        "energy",
        {
            "profiles": [p.name for p in profiles],
            "backend": main_backend,
            "ann_profile": args.ann_profile,
            "hops": args.hops,
        },
        {"files": [str(p.name) for p in paths.values()], "totals": _totals(rep)},
    )
    for e in rep.estimates:
        print(
            f"{e.profile:12s} ({e.kind:11s}) SNN {e.snn_total_pj * 1e-3:10.4g} nJ   "
            f"ANN ({e.ann_profile}) {e.ann_total_pj * 1e-3:10.4g} nJ   "
            f"ANN/SNN {e.ratio_ann_over_snn:.3g}"
        )
    if rep.errors:
        print("errors: " + ", ".join(f"{k} {100 * v:.3g}%" for k, v in rep.errors))
    print(f"reports {', '.join(str(p.name) for p in paths.values())} in {rd.path}")
    return 0


def _totals(rep) -> dict:
    return {
        e.profile: {"snn_pj": e.snn_total_pj, "ann_pj": e.ann_total_pj, "kind": e.kind}
        for e in rep.estimates
    }


register_command("run", "run DIR's exported network on backends", _run_args, _run_run)
register_command("energy", "energy reports from DIR's measured activity", _energy_args, _run_energy)
