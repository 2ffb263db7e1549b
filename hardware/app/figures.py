"""The ``figures`` stage of ``lava-pinn pipeline`` and ``lava-pinn figures DIR``.

The stage computes the numbers behind the figures (it needs the problem's code, the checkpoint
and the exported network) and stores them in ``figures/figures.npz``; drawing works from that
file and the run directory's other records alone (:func:`render_figures`), so a figure can be
redrawn at another width or format without the problem's code. Each figure is written as
``<name>.png`` and ``<name>.pdf`` (or ``.svg``) side by side (:mod:`hardware.figstyle`):

* ``fields_t<t>`` (``fields`` for a problem without a third input): each output field on a
  ``field_grid x field_grid`` slice of the domain (first two inputs; the third, time, fixed at
  each of ``field_times``): exact, ANN, the exported SNN run on the Lava backend (on exactly
  these points), and the error maps ``|ANN - exact|`` and ``|SNN - exact|``, a colorbar on each
  panel. A 1-D problem gets line plots instead.
* ``raster``: spikes of the exported network for one point (the domain's centre), traced by the
  torch twin (bit-exact with Lava ``fixed_pt``), layers separated and named.
* ``error_vs_T``: relative L2 error (%) vs ``T`` of the converted network *as calibrated at
  the conversion's T*, re-simulated in float (torch) at each ``sweep_T``; the ANN dashed.
* ``pareto``: SNN energy per inference (nJ, first profile) vs mean error (%) for the same sweep
  and for the exported network (torch twin), the ANN as a star.
* ``energy_pareto``, ``energy_firing_rates`` (from the ``energy`` stage's activity records):
  one point per network, backends whose predictions are equal (``==``) merged into one
  (``lava-cpu = torch-twin``).
* ``streaming`` (a ``lava-pinn sigma-delta`` directory, from ``sigma_delta.json``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from hardware.app.provenance import writes
from hardware.app.rundir import npz_bytes
from hardware.figstyle import FigStyle
from lava_pinn.metrics import field_errors

log = logging.getLogger(__name__)

FIGURE_DATA = "figures.npz"
RASTER_NEURONS = 48


def _time_label(t: float) -> str:
    return f"{t:.2f}"


def field_files(problem, config) -> list[str]:
    if problem.in_features >= 3:
        return [f"fields_t{_time_label(t)}.png" for t in config.field_times]
    return ["fields.png"]


def figure_files(rd, config, style: FigStyle | None = None) -> list[Path]:
    """The files the ``figures`` stage leaves in ``DIR/figures`` (PNG and vector each)."""
    from lava_pinn.problems import get_problem

    vec = (style or FigStyle()).vector
    problem = get_problem(rd.problem)
    stems = [n[:-4] for n in field_files(problem, config)] + ["raster", "error_vs_T", "pareto"]
    names = [f"{s}.{ext}" for s in stems for ext in ("png", vec)]
    return [rd.path / "figures" / n for n in (*names, FIGURE_DATA)]


# ------------------------------------------------------------------------------------ slices
def slice_points(problem, config) -> tuple[np.ndarray, list[tuple[str, float | None, tuple]]]:
    """Points of every field slice stacked, and per slice ``(file, time, grid shape)``."""
    box = problem.domain
    lo, hi = np.asarray(box.low), np.asarray(box.high)
    mid = (lo + hi) / 2
    d = problem.in_features
    if d == 1:
        n = 4 * config.field_grid + 1  # a line: denser than an image axis, same cost order
        x = np.linspace(lo[0], hi[0], n)[:, None]
        return x, [("fields.png", None, (n,))]
    g = config.field_grid
    gx, gy = np.linspace(lo[0], hi[0], g), np.linspace(lo[1], hi[1], g)
    X, Y = np.meshgrid(gx, gy, indexing="xy")
    parts, slices = [], []
    times: list[float | None] = list(config.field_times) if d >= 3 else [None]
    for t in times:
        pts = np.tile(mid, (g * g, 1))
        pts[:, 0], pts[:, 1] = X.ravel(), Y.ravel()
        if t is not None:
            if not lo[2] <= t <= hi[2]:
                raise ValueError(
                    f"field_times: {t} lies outside the domain of {problem.inputs[2]!r} "
                    f"[{lo[2]}, {hi[2]}]; pick times inside it (--field-times)"
                )
            pts[:, 2] = t
            name = f"fields_t{_time_label(t)}.png"
        else:
            name = "fields.png"
        parts.append(pts)
        slices.append((name, t, (g, g)))
    return np.concatenate(parts), slices


# ------------------------------------------------------------------------------------ compute
def _snn_on(rd, net_path: Path, x: np.ndarray, backend: str, config, problem) -> np.ndarray:
    import torch

    import hardware

    opts = {"batch": config.lava_batch, "timeout_s": config.timeout_s}
    lava = backend.startswith("lava") or backend == "loihi2"
    res = hardware.run(
        net_path, x, backend=backend, check_resources=False, **(opts if lava else {})
    )
    y = res.y
    if res.metadata.get("hard_bc"):
        y = problem.apply_hard_bc(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    return y


def _ann_on(rd, problem, x: np.ndarray) -> np.ndarray:
    import torch

    from lava_pinn.checkpoint import load_checkpoint
    from lava_pinn.training import predict

    ck = load_checkpoint(rd.require("checkpoint"))
    return predict(ck.model, problem, torch.from_numpy(x), ck.hard_bc).numpy()


def _fields_data(rd, config, problem, data: dict, meta: dict) -> None:
    import torch

    x, slices = slice_points(problem, config)
    backend = config.lava_backend or config.backends[0]
    cols: dict[str, np.ndarray] = {}
    if problem.has_exact:
        cols["exact"] = problem.exact(torch.from_numpy(x)).numpy()
    cols["ANN"] = _ann_on(rd, problem, x)
    cols[f"SNN ({backend})"] = _snn_on(rd, rd.require("network"), x, backend, config, problem)
    data["field_x"] = x
    for k, v in cols.items():
        data[f"field_{_key(k)}"] = v
    box = problem.domain
    meta.update(
        inputs=list(problem.inputs),
        outputs=list(problem.outputs),
        low=[float(v) for v in box.low],
        high=[float(v) for v in box.high],
        field_columns=list(cols),
        field_keys=[f"field_{_key(k)}" for k in cols],
        field_backend=backend,
        slices=[[n[:-4], t, list(s)] for n, t, s in slices],
        T=(rd.stage("export") or {}).get("info", {}).get("T", "?"),
    )


def _key(label: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _raster_data(rd, problem, data: dict, meta: dict) -> None:
    from exporters import load
    from exporters.twin import run_twin

    net = load(rd.require("network"))
    box = problem.domain
    x0 = ((np.asarray(box.low) + np.asarray(box.high)) / 2)[None, :]
    res = run_twin(net, x0, trace=True)
    names = []
    for k, s in enumerate(res.spikes):
        data[f"raster_{k}"] = s[0, :, :RASTER_NEURONS]
        la = net.hidden[k] if k < len(net.hidden) else None
        name = getattr(la, "name", "") or ""
        names.append(name if name and name != "layer" else f"hidden {k + 1}")
    data["raster_x"] = x0
    meta["raster_layers"] = names


def _subset(n: int, k: int, seed: int) -> np.ndarray:
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def _sweep(rd, config, problem, data: dict, meta: dict, bar) -> dict:
    """Float SNN (as calibrated) at each ``T`` of ``sweep_T``: errors and energy per inference."""
    import torch

    import hardware
    from lava_pinn.conversion.network import SpikingNetwork

    snn = SpikingNetwork.load(rd.require("snn"))
    ref = problem.reference()
    idx = _subset(ref.points.shape[0], config.sweep_points, config.seed)
    x = ref.points.numpy()[idx]
    exact = ref.values.numpy()[idx]
    ann = _ann_on(rd, problem, x)
    outs, gauge = list(problem.outputs), problem.gauge_fields
    ann_err = field_errors(ann, exact, outs, gauge)
    profile = config.profiles[0]
    rows = {"T": [], "energy_j": [], "ann_energy_j": [], **{o: [] for o in outs}}
    for T in config.sweep_T:
        net = SpikingNetwork(snn.hidden, snn.output, int(T), snn.metadata)
        res = hardware.run(net, x, backend="torch-float")
        y = res.y
        if snn.metadata.get("hard_bc"):
            y = problem.apply_hard_bc(torch.from_numpy(x), torch.from_numpy(y)).numpy()
        errs = field_errors(y, exact, outs, gauge)
        est = hardware.energy_report(res, profiles=[profile]).estimate_for(_profile_name(profile))
        rows["T"].append(int(T))
        rows["energy_j"].append(est.snn_total_j)
        rows["ann_energy_j"].append(est.ann_total_j)
        for o in outs:
            rows[o].append(errs[o])
        bar.update()
    sw = {"rows": rows, "ann": ann_err, "T_calibrated": snn.T, "points": len(idx)}
    meta["sweep"] = {**sw, "profile": _profile_name(profile)}
    meta["deployed"] = _deployed_point(rd, config, outs)
    return sw


def _profile_name(spec: str) -> str:
    from hardware.energy import get_profile, load_profile

    return (load_profile(spec) if spec.endswith(".toml") else get_profile(spec)).name


def _deployed_point(rd, config, outs) -> dict | None:
    """The exported network (torch twin on the grid) with its energy from the energy stage."""
    run = (rd.stage("run") or {}).get("info", {})
    energy = (rd.stage("energy") or {}).get("info", {}).get("totals", {})
    twin = run.get("torch-twin")
    prof = _profile_name(config.profiles[0])
    if not twin or prof not in energy:
        return None
    lava = [b for b in run if isinstance(run[b], dict) and b.startswith("lava")]
    label = "exported: " + " = ".join([*lava, "torch-twin"]) if lava else "exported (twin)"
    mean = float(np.mean([twin["rel_l2"][o] for o in outs]))
    return {
        "label": label,
        "T": int(twin["T"]),
        "energy_j": energy[prof]["snn_pj"] * 1e-12,
        "error": mean,
    }


def figures_options(c) -> dict:
    """What ``run.json`` records for the figures stage of pipeline config ``c``."""
    return {
        "field_times": list(c.field_times),
        "field_grid": c.field_grid,
        "sweep_T": list(c.sweep_T),
        "sweep_points": c.sweep_points,
        "lava_backend": c.lava_backend,
        "profiles": list(c.profiles),
        "seed": c.seed,
    }


@writes("figures")
def make_figures(rd, config, bar, style: FigStyle | None = None) -> list[Path]:
    """Compute and store ``figures/figures.npz``, then draw every figure from the run dir;
    records stage ``figures`` with the files it drew from (checkpoint, networks, energy report,
    twin predictions)."""
    from lava_pinn.checkpoint import atomic_write_bytes
    from lava_pinn.problems import get_problem

    problem = get_problem(rd.problem)
    data: dict[str, np.ndarray] = {}
    meta: dict = {"problem": problem.name}
    _fields_data(rd, config, problem, data, meta)
    bar.update()
    _raster_data(rd, problem, data, meta)
    bar.update()
    sw = _sweep(rd, config, problem, data, meta, bar)
    data["meta"] = np.array(json.dumps(meta, default=float))
    npz = atomic_write_bytes(rd.figures / FIGURE_DATA, npz_bytes(data))
    paths, notes = render_figures(rd, style)
    for n in notes:
        log.info("%s", n)
    bar.update()
    paths.append(npz)
    inputs = [rd.file(k).name for k in ("checkpoint", "snn", "network", "energy")]
    pred = rd.load_predictions() if rd.file("predictions").is_file() else {}
    inputs += [f"{rd.file('predictions').name}#{k}" for k in ("snn_torch_twin",) if k in pred]
    rd.record(
        "figures",
        figures_options(config),
        {"files": [p.name for p in paths], "sweep": sw["rows"], "sweep_points": sw["points"]},
        inputs=[i for i in inputs if rd.digest(i) is not None],
        outputs=[str(p.relative_to(rd.path)) for p in paths],
    )
    return paths


# ------------------------------------------------------------------------------------ draw
def load_figure_data(rd) -> tuple[dict, dict] | None:
    """``(arrays, meta)`` of ``figures/figures.npz``, or ``None`` where the stage never ran."""
    p = rd.path / "figures" / FIGURE_DATA
    if not p.is_file():
        return None
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if "meta" not in arrays:
        return None
    return arrays, json.loads(str(arrays.pop("meta")))


def render_figures(rd, style: FigStyle | None = None) -> tuple[list[Path], list[str]]:
    """Draw every figure the run directory's records allow; ``(paths, notes)``: each note one
    line saying which figures were left out and why. Needs no problem code."""
    from hardware.app import figures_draw as fd

    style = style or FigStyle()
    paths: list[Path] = []
    notes: list[str] = []
    loaded = load_figure_data(rd)
    if loaded is None:
        if (rd.path / "run.json").is_file() and rd.problem:
            notes.append(
                "fields, raster, error_vs_T and pareto not drawn: they need "
                f"figures/figures.npz, which `lava-pinn pipeline {rd.problem} --out {rd.path}` "
                "writes (its figures stage needs the problem's code and the network)"
            )
    else:
        arrays, meta = loaded
        paths += fd.fields(rd.figures, arrays, meta, style)
        paths += fd.raster(rd.figures, arrays, meta, style)
        paths += fd.sweep(rd.figures, meta, style)
    p, n = fd.energy(rd, style)
    paths += p
    notes += n
    sd = rd.path / "sigma_delta.json"
    if sd.is_file():
        rec = json.loads(sd.read_text())
        if "stream" in rec:
            paths += fd.streaming(rd.path / "figures", rec["stream"], style)
    return paths, notes


__all__ = [
    "FIGURE_DATA",
    "figure_files",
    "load_figure_data",
    "make_figures",
    "render_figures",
    "slice_points",
]
