"""Drawing the figures of a run directory from its records (no problem code needed).

Each function takes what ``figures/figures.npz`` (:func:`hardware.app.figures.load_figure_data`)
or the run directory's activity and predictions hold, draws in a
:class:`~hardware.figstyle.FigStyle` and returns the written paths (PNG and vector each).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from hardware.figstyle import FigStyle, figure, rc, save

log = logging.getLogger(__name__)


def _fmt(v: float, _pos=None) -> str:
    from hardware.plots import _fmt as f

    return f(v)


# ------------------------------------------------------------------------------------ fields
def _field_grid(k: int, values: int, errors: int, full: bool) -> list[list[tuple[int, int]]]:
    """Where each panel goes: ``grid[i][j] = (row, col)`` of panel ``j`` of output ``i``.

    Full width, or three or more outputs at column width: one row (column) per output.
    One or two outputs at column width: each output is two rows, its values above its error
    maps, so the figure stays about as tall as it is wide."""
    m = values + errors
    if full:
        return [[(i, j) for j in range(m)] for i in range(k)]
    if k >= 3:
        return [[(j, i) for j in range(m)] for i in range(k)]
    return [
        [(2 * i, j) for j in range(values)] + [(2 * i + 1, j) for j in range(errors)]
        for i in range(k)
    ]


def _fields_2d(cols: dict[str, np.ndarray], meta: dict, shape, path: Path, title: str, style):
    """One panel per (output, column): values share a color scale per output, each error map has
    its own (the ANN's error is often far below the SNN's); a colorbar on every panel, as tall
    as its panel. Panels keep the domain's aspect where its sides differ by at most 2x (a
    ``t`` axis beside an ``x`` axis is drawn square instead)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    outs, ins = meta["outputs"], meta["inputs"]
    names = list(cols)
    ref = "exact" if "exact" in cols else names[0]
    panels = [(n, cols[n], False) for n in names]
    panels += [(f"|{n} - {ref}|", np.abs(cols[n] - cols[ref]), True) for n in names if n != ref]
    n_err = sum(1 for p in panels if p[2])
    k = len(outs)
    grid = _field_grid(k, len(panels) - n_err, n_err, style.width == "full")
    nr = 1 + max(r for g in grid for r, _ in g)
    nc = 1 + max(c for g in grid for _, c in g)
    lo, hi = meta["low"], meta["high"]
    extent = (lo[0], hi[0], lo[1], hi[1])
    ratio = (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 1.0
    box = ratio if 0.5 <= ratio <= 2.0 else 1.0  # panel height / width
    cell = style.inches / nc  # a panel, its colorbar and its labels
    with rc(style):
        fig, axes = figure(style, nr * (cell * 0.72 * box + 0.3) + 0.3, nr, nc, squeeze=False)
        fs = style.small - 1
        used = set()
        for i, out in enumerate(outs):
            vals = [p[1][:, i] for p in panels if not p[2]]
            vmin = min(float(v.min()) for v in vals)
            vmax = max(float(v.max()) for v in vals)
            for (name, v, is_err), (r, c) in zip(panels, grid[i], strict=True):
                ax = axes[r, c]
                used.add((r, c))
                im = ax.imshow(
                    v[:, i].reshape(shape),
                    origin="lower",
                    extent=extent,
                    vmin=0 if is_err else vmin,
                    vmax=(float(v[:, i].max()) or 1.0) if is_err else vmax,
                    cmap="magma" if is_err else "RdBu_r",
                    aspect="auto",
                )
                ax.set_box_aspect(box)
                ax.set_title(f"{out}: {name}", fontsize=fs, pad=2)
                cax = ax.inset_axes([1.04, 0.0, 0.07, 1.0])  # exactly the panel's height
                cb = fig.colorbar(im, cax=cax)
                cb.locator = MaxNLocator(3)
                cb.formatter = FuncFormatter(_fmt)
                cb.update_ticks()
                cb.ax.tick_params(labelsize=fs - 0.5, length=2, pad=1)
                ax.set_xticks([lo[0], (lo[0] + hi[0]) / 2, hi[0]], [_fmt(lo[0]), "", _fmt(hi[0])])
                ax.set_yticks(
                    [(lo[1] + hi[1]) / 2, hi[1]], [_fmt((lo[1] + hi[1]) / 2), _fmt(hi[1])]
                )
                ax.tick_params(labelsize=fs - 0.5, length=2, pad=1)
                below = (r + 1, c) not in {p for g in grid for p in g}
                if below:
                    ax.set_xlabel(ins[0], fontsize=fs, labelpad=1)
                else:
                    ax.tick_params(labelbottom=False)
                if c == 0:
                    ax.set_ylabel(ins[1], fontsize=fs, labelpad=1)
                else:
                    ax.tick_params(labelleft=False)
        for r in range(nr):
            for c in range(nc):
                if (r, c) not in used:
                    fig.delaxes(axes[r, c])
        fig.suptitle(title, fontsize=style.small)
        return save(fig, path, style)


def legend_below(fig, style):
    from hardware.plots import legend_below as lb

    lb(fig, style)


def _fields_1d(x: np.ndarray, cols: dict[str, np.ndarray], meta: dict, path: Path, title, style):
    outs, ins = meta["outputs"], meta["inputs"]
    k = len(outs)
    ref = "exact" if "exact" in cols else next(iter(cols))
    with rc(style):
        fig, axes = figure(style, 3.0, 2, k, squeeze=False, sharex="col")
        for i, out in enumerate(outs):
            for c, (n, v) in enumerate(cols.items()):
                kw = {"ls": "--"} if n == ref else {"marker": ".", "ms": 2, "ls": "none"}
                color = f"C{c}"
                axes[0, i].plot(x[:, 0], v[:, i], label=n if i == 0 else "_", color=color, **kw)
                if n != ref:
                    err = np.abs(v[:, i] - cols[ref][:, i]) + 1e-16
                    axes[1, i].semilogy(x[:, 0], err, lw=0.8, color=color, label="_")
            axes[0, i].set_ylabel(out)
            axes[1, i].set_ylabel(f"|{out} - {ref}|")
            axes[1, i].set_xlabel(ins[0])
        legend_below(fig, style)
        fig.suptitle(title, fontsize=style.small)
        return save(fig, path, style)


def fields(figdir: Path, arrays: dict, meta: dict, style: FigStyle) -> list[Path]:
    """The field figures of ``figures.npz``."""
    x = arrays["field_x"]
    cols = {
        c.split(" (")[0]: arrays[k]
        for c, k in zip(meta["field_columns"], meta["field_keys"], strict=True)
    }
    out, lo = [], 0
    for stem, t, shape in meta["slices"]:
        n = int(np.prod(shape))
        part = {k: v[lo : lo + n] for k, v in cols.items()}
        title = f"{meta['problem']}: exported SNN (T={meta['T']}) on {meta['field_backend']}"
        if t is not None:
            title += f", {meta['inputs'][2]} = {t:g}"
        if len(shape) == 1:
            out += _fields_1d(x[lo : lo + n], part, meta, figdir / stem, title, style)
        else:
            out += _fields_2d(part, meta, tuple(shape), figdir / stem, title, style)
        lo += n
    return out


# ------------------------------------------------------------------------------------ raster
def raster(figdir: Path, arrays: dict, meta: dict, style: FigStyle) -> list[Path]:
    """The raster of ``figures.npz``: one block per hidden layer, separated and named."""
    from hardware.plots import plot_raster

    names = meta.get("raster_layers", [])
    blocks = [(n, arrays[f"raster_{k}"]) for k, n in enumerate(names)]
    if not blocks:
        return []
    x0 = arrays["raster_x"][0]
    where = ", ".join(f"{n}={v:g}" for n, v in zip(meta["inputs"], x0, strict=True))
    per = max(b.shape[1] for _, b in blocks)
    title = f"torch twin (= Lava fixed_pt), {per} neurons per layer\npoint ({where})"
    png = plot_raster(blocks, figdir / "raster", title=title, style=style)
    return [png, png.with_suffix(f".{style.vector}")]


# ------------------------------------------------------------------------------------ sweep
def sweep(figdir: Path, meta: dict, style: FigStyle) -> list[Path]:
    """``error_vs_T`` and ``pareto`` from the sweep the figures stage recorded."""
    from hardware.plots import ParetoPoint, plot_error_vs_T, plot_pareto

    sw = meta.get("sweep")
    if not sw:
        return []
    outs = meta["outputs"]
    rows, Tc = sw["rows"], sw["T_calibrated"]
    label = f"float SNN, calibrated at T={Tc}"
    errors = {f"{o}" if len(outs) > 1 else label: rows[o] for o in outs}
    mean = [float(np.mean([rows[o][i] for o in outs])) for i in range(len(rows["T"]))]
    if len(outs) > 1:
        errors[f"mean over {', '.join(outs)}"] = mean
    ann_mean = float(np.mean([sw["ann"][o] for o in outs]))
    p1 = plot_error_vs_T(
        rows["T"],
        errors,
        figdir / "error_vs_T",
        ann_error=ann_mean,
        title=(f"{label}, " if len(outs) > 1 else "") + f"{sw['points']} grid points",
        style=style,
    )
    pts = [
        ParetoPoint(label, T, e, m)
        for T, e, m in zip(rows["T"], rows["energy_j"], mean, strict=True)
    ]
    dep = meta.get("deployed")
    if dep:
        pts.append(ParetoPoint(dep["label"], dep["T"], dep["energy_j"], dep["error"]))
    p2 = plot_pareto(
        pts,
        figdir / "pareto",
        ann=(float(rows["ann_energy_j"][0]), ann_mean),
        xlabel=f"energy per inference (nJ)\nSNN {sw['profile']}, ANN FP32 cmos-45nm",
        style=style,
    )
    return [p1, p1.with_suffix(f".{style.vector}"), p2, p2.with_suffix(f".{style.vector}")]


# ------------------------------------------------------------------------------------ energy
def energy_points(rd, reps: dict, profile: str):
    """One :class:`~hardware.plots.ParetoPoint` per network: backends whose predictions in
    ``predictions.npz`` are equal (``==``) where both ran are one point, labelled
    ``lava-cpu = torch-twin`` and priced from the member that ran the most points."""
    from hardware.app.rundir import array_key
    from hardware.plots import ParetoPoint, merge_bit_exact

    pred = rd.load_predictions() if rd.file("predictions").is_file() else {}
    with_errors = [b for b, r in reps.items() if r.errors]
    preds = {b: pred[array_key(b)] for b in with_errors if array_key(b) in pred}
    groups = merge_bit_exact(preds) + [[b] for b in with_errors if b not in preds]
    pts = []
    for g in groups:
        best = max(
            g, key=lambda b: int(np.isfinite(preds[b]).all(axis=-1).sum()) if b in preds else 0
        )
        r = reps[best]
        err = float(np.mean([v for _, v in r.errors]))
        e = r.estimate_for(profile)
        pts.append(ParetoPoint(" = ".join(g), r.ops.T, e.snn_total_j, err))
    return pts


def _ann_error(rd) -> float | None:
    """Mean error of the ANN column of ``predictions.npz`` (``None`` where it is missing)."""
    from lava_pinn.metrics import field_errors

    if not rd.file("predictions").is_file():
        return None
    pred = rd.load_predictions()
    ref = "exact" if "exact" in pred else "reference"
    if "ann" not in pred or ref not in pred:
        return None
    info = rd.problem_info()
    outs = list(info["outputs"]) if info else [f"y{i}" for i in range(pred["ann"].shape[1])]
    gauge = tuple(info.get("gauge_fields") or ()) if info else ()
    errs = field_errors(pred["ann"], pred[ref], outs, gauge)
    return float(np.mean(list(errs.values())))


def energy_figures(rd, reps: dict, activity, main_backend: str, profile: str, style=None) -> dict:
    """``energy_firing_rates`` (``activity``: the :class:`~hardware.activity.SNNActivity` of
    ``main_backend``) and ``energy_pareto`` (one point per network, the ANN as a star where
    ``predictions.npz`` has its column); returns ``{"firing_rates": png, "pareto": png}``."""
    from hardware import plots

    style = style or FigStyle()
    rates = {la.name: r for la, r in zip(activity.layers, activity.firing_rates(), strict=True)}
    paths = {
        "firing_rates": plots.plot_firing_rates(
            rates, rd.figures / "energy_firing_rates", style=style
        )
    }
    pts = energy_points(rd, reps, profile)
    if pts:
        e = reps[main_backend].estimate_for(profile)
        ann_err = _ann_error(rd)
        ann = None if ann_err is None else (e.ann_total_j, ann_err)
        paths["pareto"] = plots.plot_pareto(
            pts,
            rd.figures / "energy_pareto",
            ann=ann,
            xlabel=f"energy per inference (nJ)\nSNN {profile}, ANN FP32 {e.ann_profile}",
            style=style,
        )
    return paths


def energy(rd, style: FigStyle) -> tuple[list[Path], list[str]]:
    """The energy figures from the activity records and the ``energy`` stage's profiles."""
    from hardware.app.energy_common import (
        ENERGY_BACKENDS,
        ENERGY_PROFILES,
        _profile,
        prediction_errors,
    )
    from hardware.costing import energy_report, load_activity

    backends = [b for b in ENERGY_BACKENDS if rd.file("activity", backend=b).is_file()]
    if not backends:
        return [], []
    rec = rd.stage("energy") or {}
    opts = rec.get("options", {})
    specs = opts.get("profiles") or list(ENERGY_PROFILES)
    try:
        profiles = [_profile(p) for p in specs]
    except (KeyError, ValueError, OSError) as err:
        return [], [
            f"energy figures left out: a profile of the energy stage is unavailable ({err})"
        ]
    main = rec.get("info", {}).get("backend")
    main = main if main in backends else backends[0]
    reps, activity = {}, None
    for b in [main, *[b for b in backends if b != main]]:
        act = load_activity(rd.file("activity", backend=b))
        activity = activity or act.activity
        reps[b] = energy_report(
            act,
            profiles=profiles,
            errors=prediction_errors(rd, b),
            label=f"{rd.problem or 'network'}, {b}",
            ann_profile=opts.get("ann_profile", "cmos-45nm"),
            hops_per_spike=opts.get("hops", 1.0),
        )
    paths = energy_figures(rd, reps, activity, main, profiles[0].name, style)
    out = []
    for p in paths.values():
        out += [p, p.with_suffix(f".{style.vector}")]
    return out, []


# ------------------------------------------------------------------------------------ stream
def streaming(figdir: Path, stream: dict, style: FigStyle) -> list[Path]:
    """``streaming``: messages, synaptic ops and energy per point-frame vs frames."""
    from hardware.plots import plot_streaming

    png = plot_streaming(stream, figdir / "streaming", style=style)
    return [png, png.with_suffix(f".{style.vector}")]
