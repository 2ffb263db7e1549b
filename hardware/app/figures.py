"""The ``figures`` stage of ``lava-pinn pipeline``: what a reader of the run looks at.

* ``figures/fields_t<t>.png`` (``fields.png`` for a problem without a third input): each output
  field on a ``field_grid x field_grid`` slice of the domain (first two inputs; the third, time,
  fixed at each of ``field_times``): exact, ANN, the exported SNN run on the Lava backend (on
  exactly these points), and the two error maps ``|ANN - exact|`` and ``|SNN - exact|``. A 1-D
  problem gets line plots instead.
* ``figures/raster.png``: spikes of the exported network for one point (the domain's centre),
  traced by the torch twin, which is bit-exact with Lava ``fixed_pt``.
* ``figures/error_vs_T.png``: relative L2 error vs ``T`` of the converted network *as calibrated
  at the conversion's T*, re-simulated in float (torch) at each ``sweep_T``; the ANN dashed.
* ``figures/pareto.png``: SNN energy per inference (first profile) vs mean error for the same
  sweep and for the exported network (torch twin), the ANN as a star.
* ``figures/figures.npz``: the numbers behind them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from hardware.app.provenance import writes
from hardware.app.rundir import npz_bytes
from lava_pinn.metrics import field_errors

log = logging.getLogger(__name__)

FIGURE_DATA = "figures.npz"


def _time_label(t: float) -> str:
    return f"{t:.2f}"


def field_files(problem, config) -> list[str]:
    if problem.in_features >= 3:
        return [f"fields_t{_time_label(t)}.png" for t in config.field_times]
    return ["fields.png"]


def figure_files(rd, config) -> list[Path]:
    """The files the ``figures`` stage leaves in ``DIR/figures``."""
    from lava_pinn.problems import get_problem

    problem = get_problem(rd.problem)
    names = [*field_files(problem, config), "raster.png", "error_vs_T.png", "pareto.png"]
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


def _plot_fields_2d(problem, cols: dict[str, np.ndarray], shape, extent, path: Path, title: str):
    from hardware.plots import _plt, _save

    plt = _plt()
    names = list(cols)
    ref = "exact" if "exact" in cols else names[0]
    err_cols = [(f"|{n} - {ref}|", np.abs(cols[n] - cols[ref])) for n in names if n != ref]
    k = len(problem.outputs)
    ncol = len(names) + len(err_cols)
    fig, axes = plt.subplots(k, ncol, figsize=(2.3 * ncol, 2.1 * k + 0.4), squeeze=False)
    for i, out in enumerate(problem.outputs):
        vals = [cols[n][:, i].reshape(shape) for n in names]
        vmin, vmax = min(float(v.min()) for v in vals), max(float(v.max()) for v in vals)
        errs = [e[:, i].reshape(shape) for _, e in err_cols]
        emax = max((float(e.max()) for e in errs), default=1.0) or 1.0
        for j, (n, v) in enumerate(zip(names, vals, strict=True)):
            im = axes[i, j].imshow(
                v, origin="lower", extent=extent, vmin=vmin, vmax=vmax, cmap="RdBu_r"
            )
            axes[i, j].set_title(f"{out}: {n}", fontsize=8)
        fig.colorbar(im, ax=axes[i, len(names) - 1], fraction=0.046)
        for j, ((n, _), e) in enumerate(zip(err_cols, errs, strict=True), start=len(names)):
            im = axes[i, j].imshow(
                e, origin="lower", extent=extent, vmin=0, vmax=emax, cmap="magma"
            )
            axes[i, j].set_title(f"{out}: {n}", fontsize=8)
        if errs:
            fig.colorbar(im, ax=axes[i, ncol - 1], fraction=0.046)
    for ax in axes.ravel():
        ax.set_xlabel(problem.inputs[0], fontsize=7)
        ax.set_ylabel(problem.inputs[1], fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def _plot_fields_1d(problem, x: np.ndarray, cols: dict[str, np.ndarray], path: Path, title: str):
    from hardware.plots import _plt, _save

    plt = _plt()
    k = len(problem.outputs)
    fig, axes = plt.subplots(2, k, figsize=(4.5 * k, 5), squeeze=False)
    ref = "exact" if "exact" in cols else next(iter(cols))
    for i, out in enumerate(problem.outputs):
        for n, v in cols.items():
            style = {"ls": "--"} if n == ref else {"marker": ".", "ms": 3, "ls": "none"}
            axes[0, i].plot(x[:, 0], v[:, i], label=n, **style)
            if n != ref:
                axes[1, i].semilogy(x[:, 0], np.abs(v[:, i] - cols[ref][:, i]) + 1e-16, label=n)
        axes[0, i].set_ylabel(out)
        axes[1, i].set_ylabel(f"|{out} - {ref}|")
        axes[1, i].set_xlabel(problem.inputs[0])
        axes[0, i].legend(fontsize=7)
        axes[1, i].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


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


def _fields(rd, config, problem, data: dict) -> list[Path]:
    import torch

    x, slices = slice_points(problem, config)
    backend = config.lava_backend or config.backends[0]
    cols: dict[str, np.ndarray] = {}
    if problem.has_exact:
        cols["exact"] = problem.exact(torch.from_numpy(x)).numpy()
    cols["ANN"] = _ann_on(rd, problem, x)
    snn_label = f"SNN ({backend})"
    cols[snn_label] = _snn_on(rd, rd.require("network"), x, backend, config, problem)
    data.update(field_x=x, **{f"field_{_key(k)}": v for k, v in cols.items()})
    out, lo = [], 0
    box = problem.domain
    T = (rd.stage("export") or {}).get("info", {}).get("T", "?")
    for name, t, shape in slices:
        n = int(np.prod(shape))
        part = {k: v[lo : lo + n] for k, v in cols.items()}
        title = f"{problem.name}: exported SNN (T={T}) on {backend}"
        if t is not None:
            title += f", {problem.inputs[2]} = {t:g}"
        path = rd.figures / name
        if problem.in_features == 1:
            out.append(_plot_fields_1d(problem, x[lo : lo + n], part, path, title))
        else:
            extent = (box.low[0], box.high[0], box.low[1], box.high[1])
            out.append(_plot_fields_2d(problem, part, shape, extent, path, title))
        lo += n
    return out


def _key(label: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


# ------------------------------------------------------------------------------------ raster
def _raster(rd, problem, data: dict, per_layer: int = 48) -> Path:
    from exporters import load
    from exporters.twin import run_twin
    from hardware.plots import plot_raster

    net = load(rd.require("network"))
    box = problem.domain
    x0 = ((np.asarray(box.low) + np.asarray(box.high)) / 2)[None, :]
    res = run_twin(net, x0, trace=True)
    blocks = [s[0, :, :per_layer] for s in res.spikes]
    spikes = np.concatenate(blocks, axis=1)
    data.update(raster_x=x0, raster=spikes)
    where = ", ".join(f"{n}={v:g}" for n, v in zip(problem.inputs, x0[0], strict=True))
    title = (
        f"{per_layer} neurons x {len(blocks)} layers, point ({where})\n"
        "torch twin (= Lava fixed_pt), layer-local time"
    )
    return plot_raster(spikes, rd.figures / "raster.png", title=title)


# ------------------------------------------------------------------------------------ sweep
def _subset(n: int, k: int, seed: int) -> np.ndarray:
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def _sweep(rd, config, problem, data: dict, bar) -> dict:
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
    data.update(
        sweep_T=np.array(rows["T"]),
        sweep_energy_j=np.array(rows["energy_j"]),
        sweep_errors=np.array([rows[o] for o in outs]).T,
        sweep_ann_errors=np.array([ann_err[o] for o in outs]),
    )
    return {"rows": rows, "ann": ann_err, "T_calibrated": snn.T, "points": len(idx)}


def _profile_name(spec: str) -> str:
    from hardware.energy import get_profile, load_profile

    return (load_profile(spec) if spec.endswith(".toml") else get_profile(spec)).name


def _sweep_plots(rd, config, problem, sw: dict) -> list[Path]:
    from hardware.plots import ParetoPoint, plot_error_vs_T, plot_pareto

    outs = list(problem.outputs)
    rows, Tc = sw["rows"], sw["T_calibrated"]
    label = f"float SNN, calibrated at T={Tc}"
    errors = {f"{o} ({label})": rows[o] for o in outs}
    mean = [float(np.mean([rows[o][i] for o in outs])) for i in range(len(rows["T"]))]
    if len(outs) > 1:
        errors[f"mean over {', '.join(outs)}"] = mean
    ann_mean = float(np.mean([sw["ann"][o] for o in outs]))
    p1 = plot_error_vs_T(
        rows["T"],
        errors,
        rd.figures / "error_vs_T.png",
        ann_error=ann_mean,
        ylabel=f"rel. L2 vs exact ({sw['points']} grid points)",
    )
    pts = [
        ParetoPoint(label, T, e, m)
        for T, e, m in zip(rows["T"], rows["energy_j"], mean, strict=True)
    ]
    deployed = _deployed_point(rd, config, outs)
    if deployed is not None:
        pts.append(deployed)
    prof = _profile_name(config.profiles[0])
    p2 = plot_pareto(
        pts,
        rd.figures / "pareto.png",
        ann=(float(rows["ann_energy_j"][0]), ann_mean),
        xlabel=f"energy per inference (J): SNN {prof}, ANN cmos-45nm",
    )
    return [p1, p2]


def _deployed_point(rd, config, outs):
    """The exported network (torch twin on the grid) with its energy from the energy stage."""
    from hardware.plots import ParetoPoint

    run = (rd.stage("run") or {}).get("info", {})
    energy = (rd.stage("energy") or {}).get("info", {}).get("totals", {})
    twin = run.get("torch-twin")
    prof = _profile_name(config.profiles[0])
    if not twin or prof not in energy:
        return None
    mean = float(np.mean([twin["rel_l2"][o] for o in outs]))
    return ParetoPoint(
        "exported (integer, twin)", int(twin["T"]), energy[prof]["snn_pj"] * 1e-12, mean
    )


# ------------------------------------------------------------------------------------ stage
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
def make_figures(rd, config, bar) -> list[Path]:
    """Write every figure of the stage and ``figures/figures.npz``; records stage ``figures``
    with the files it drew from (checkpoint, networks, energy report, twin predictions)."""
    from lava_pinn.checkpoint import atomic_write_bytes
    from lava_pinn.problems import get_problem

    problem = get_problem(rd.problem)
    data: dict[str, np.ndarray] = {}
    paths = _fields(rd, config, problem, data)
    bar.update()
    paths.append(_raster(rd, problem, data))
    bar.update()
    sw = _sweep(rd, config, problem, data, bar)
    paths += _sweep_plots(rd, config, problem, sw)
    bar.update()
    paths.append(atomic_write_bytes(rd.figures / FIGURE_DATA, npz_bytes(data)))
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


__all__ = ["FIGURE_DATA", "figure_files", "make_figures", "slice_points"]
