"""Figures for the energy study: error vs ``T``, energy-error Pareto front, firing rates, raster.

Every function draws one figure in a :class:`~hardware.figstyle.FigStyle` (single column by
default: 3.5 in wide) and writes ``<stem>.png`` with ``<stem>.pdf`` (or ``.svg``) beside it through
:func:`hardware.figstyle.save`; ``path`` is the stem or the ``.png`` path, and the PNG's path is
returned. Errors are drawn in percent (relative L2 x 100), energies in nJ per inference
(one point); log axes carry at least three labelled ticks. matplotlib is imported inside the
functions (Agg backend).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardware.figstyle import FigStyle, figure, rc, save, thin_annotations

ERROR_LABEL = "relative L2 error (%)"
ENERGY_LABEL = "energy per inference (nJ)"


def _png(paths: list[Path]) -> Path:
    return paths[0]


def _fmt(v: float, _pos=None) -> str:
    """A tick label: ``0.3``, ``2``, ``1e+04`` (short, no trailing zeros)."""
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e4:
        return f"{v:.4g}" if a >= 1 else f"{v:.3g}"
    return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")


def legend_below(fig, style: FigStyle, handles=None, labels=None) -> None:
    """The figure's legend under the axes (never over a line), as many columns as fit."""
    if handles is None:
        handles, labels = [], []
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
    if not labels:
        return
    chars = 72 * style.inches / (0.62 * style.small)  # text characters across the figure
    per = max(len(lab) for lab in labels) + 6  # a handle and the gap to the next column
    ncols = max(1, min(len(labels), int(chars // per)))
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols)


def log_ticks(axis, values: Sequence[float]) -> None:
    """Log scale on ``axis`` (``ax.xaxis`` / ``ax.yaxis``) with at least three labelled ticks:
    decades where the data span three or more, 1-2-5 steps over one to three, every integer
    multiple below one decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], float)
    span = float(np.log10(v.max() / v.min())) if v.size else 3.0
    if span >= 3:
        subs: tuple[float, ...] = (1.0,)
    elif span >= 0.9:
        subs = (1.0, 2.0, 5.0)
    elif span >= 0.35:
        subs = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    else:
        subs = tuple(np.arange(1.0, 10.0, 0.5))
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(FuncFormatter(_fmt))
    axis.set_minor_formatter(NullFormatter())
    if v.size:  # a little room around the data so the extreme ticks are inside the view
        lo, hi = v.min(), v.max()
        pad = 10 ** (0.08 * max(span, 0.3))
        (axis.axes.set_xlim if axis is axis.axes.xaxis else axis.axes.set_ylim)(lo / pad, hi * pad)


def _thin_ticks(fig, axis) -> None:
    """Drop every other major tick label of ``axis`` until its labels do not overlap."""
    from matplotlib.ticker import FixedLocator

    for _ in range(4):
        fig.canvas.draw()
        labs = [t.label1 for t in axis._update_ticks() if t.label1.get_text()]
        r = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(r) for t in labs]
        if not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False)):
            return
        locs = [t.get_loc() for t in axis._update_ticks() if t.label1.get_text()]
        axis.set_major_locator(FixedLocator(locs[::2]))


def plot_error_vs_T(
    T_values: Sequence[int],
    errors: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    ann_error: float | None = None,
    ylabel: str = ERROR_LABEL,
    title: str = "",
    style: FigStyle | None = None,
) -> Path:
    """Relative error (fractions, drawn in %) against ``T`` (log-log), one line per method;
    the ANN as a dashed line. The legend sits below the axes, never on a line."""
    T = np.asarray(T_values, float)
    if T.ndim != 1 or T.size == 0:
        raise ValueError("T_values must be a non-empty 1-D sequence")
    style = style or FigStyle()
    series = {}
    for name, err in errors.items():
        e = np.asarray(err, float)
        if e.shape != T.shape:
            raise ValueError(f"errors[{name!r}] has {e.size} values for {T.size} T values")
        series[name] = 100 * e
    with rc(style):
        fig, ax = figure(style, 2.2 + 0.16 * (len(series) + 1))
        for name, e in series.items():
            ax.plot(T, e, marker="o", label=name)
        vals = [v for e in series.values() for v in e]
        if ann_error is not None:
            ax.axhline(100 * ann_error, color="k", ls="--", lw=1, label="ANN")
            vals.append(100 * ann_error)
        ax.set_xscale("log", base=2)
        ax.set_xticks(T, [str(int(t)) for t in T])
        ax.xaxis.set_minor_locator(_null())
        ax.set_yscale("log")
        log_ticks(ax.yaxis, vals)
        ax.set_xlabel("time steps T")
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, fontsize=style.small)
        ax.grid(True, which="major", alpha=0.3)
        legend_below(fig, style)
        _thin_ticks(fig, ax.xaxis)
        return _png(save(fig, path, style))


def _null():
    from matplotlib.ticker import NullLocator

    return NullLocator()


@dataclass(frozen=True)
class ParetoPoint:
    """One run: its method, ``T``, energy per inference (J) and error (relative L2, a fraction)."""

    method: str
    T: int
    energy_j: float
    error: float


def pareto_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats in both energy and error, sorted by energy."""
    pts = sorted(points, key=lambda p: (p.energy_j, p.error))
    front, best = [], np.inf
    for p in pts:
        if p.error < best:
            front.append(p)
            best = p.error
    return front


def points_from_reports(
    reports: Sequence, profile: str, error: str, method: str | None = None
) -> list[ParetoPoint]:
    """Pareto points from :class:`~hardware.energy.EnergyReport` objects: SNN energy under
    ``profile`` against the error named ``error``; ``method`` defaults to each report's label.
    """
    pts = []
    for r in reports:
        errs = dict(r.errors)
        if error not in errs:
            raise KeyError(f"report {r.label!r} has no error {error!r}; it has {sorted(errs)}")
        e = r.estimate_for(profile)
        pts.append(ParetoPoint(method or r.label, r.ops.T, e.snn_total_j, errs[error]))
    return pts


def merge_bit_exact(predictions: Mapping[str, np.ndarray]) -> list[list[str]]:
    """Groups of names whose predictions are equal (``==``) wherever both are finite (NaN marks
    points a backend did not evaluate); each group keeps the order of ``predictions``.

    Bit-exact backends (Lava ``fixed_pt`` and the torch twin) form one group: one network, one
    point in a figure.
    """
    groups: list[list[str]] = []
    for name, y in predictions.items():
        y = np.asarray(y)
        for g in groups:
            z = np.asarray(predictions[g[0]])
            if z.shape != y.shape:
                continue
            both = (
                np.isfinite(y).all(axis=-1) & np.isfinite(z).all(axis=-1)
                if y.ndim > 1
                else (np.isfinite(y) & np.isfinite(z))
            )
            if both.any() and np.array_equal(y[both], z[both]):
                g.append(name)
                break
        else:
            groups.append([name])
    return groups


_OFFSETS = [(4, 4), (4, -9), (-18, 4), (-18, -9), (6, -2), (-22, -2), (0, 7), (0, -12)]


def plot_pareto(
    points: Sequence[ParetoPoint],
    path: str | Path,
    *,
    ann: tuple[float, float] | None = None,
    xlabel: str = ENERGY_LABEL,
    ylabel: str = "mean " + ERROR_LABEL,
    style: FigStyle | None = None,
) -> Path:
    """Energy (J, drawn in nJ) vs error (drawn in %) over ``T`` and methods, each point labelled
    with its ``T`` where the label fits; the Pareto front where two or more points are on it;
    ``ann = (energy_j, error)`` as a star."""
    if not points:
        raise ValueError("plot_pareto needs at least one point")
    style = style or FigStyle()
    methods = list(dict.fromkeys(p.method for p in points))
    with rc(style):
        fig, ax = figure(style, 2.3 + 0.16 * (len(methods) + 2))
        notes = []
        for method in methods:
            ps = sorted((p for p in points if p.method == method), key=lambda p: p.T)
            ls = ":" if len(ps) > 1 else "none"
            x = [1e9 * p.energy_j for p in ps]
            y = [100 * p.error for p in ps]
            ax.plot(x, y, marker="o", ls=ls, label=method)
            if len(ps) > 1:
                for p, xi, yi in zip(ps, x, y, strict=True):
                    a = ax.annotate(
                        f"T={p.T}",
                        (xi, yi),
                        xytext=_OFFSETS[0],
                        textcoords="offset points",
                        fontsize=style.small - 1,
                        alpha=0.8,
                    )
                    a.set_in_layout(False)
                    notes.append(a)
        front = pareto_front(points)
        if len(front) >= 2:
            ax.step(
                [1e9 * p.energy_j for p in front],
                [100 * p.error for p in front],
                where="post",
                color="k",
                lw=0.8,
                alpha=0.5,
                label="Pareto front",
            )
        xs = [1e9 * p.energy_j for p in points]
        ys = [100 * p.error for p in points]
        if ann is not None:
            ax.plot(
                [1e9 * ann[0]], [100 * ann[1]], marker="*", ms=8, color="k", ls="none", label="ANN"
            )
            xs.append(1e9 * ann[0])
            ys.append(100 * ann[1])
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_ticks(ax.xaxis, xs)
        log_ticks(ax.yaxis, ys)
        if notes:  # headroom for the T labels above the highest point (about 12% of the axes)
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, hi * (hi / lo) ** 0.14)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        legend_below(fig, style)
        _thin_ticks(fig, ax.xaxis)
        if notes:
            thin_annotations(fig, notes, _OFFSETS)
        return _png(save(fig, path, style))


def plot_firing_rates(
    rates: Mapping[str, Sequence[float] | np.ndarray],
    path: str | Path,
    *,
    style: FigStyle | None = None,
) -> Path:
    """Per-layer firing rates (spikes per neuron per step): one box per layer, neurons as dots.

    Pass ``{name: rates}``, e.g. from :meth:`hardware.activity.SNNActivity.firing_rates`.
    """
    items = [(k, np.asarray(v, float).ravel()) for k, v in rates.items() if v is not None]
    if not items:
        raise ValueError("plot_firing_rates needs at least one layer of rates")
    style = style or FigStyle()
    with rc(style):
        fig, ax = figure(style, 2.4)
        ax.boxplot([v for _, v in items], showfliers=False)
        rng = np.random.default_rng(0)
        for i, (_, v) in enumerate(items, start=1):
            ax.plot(i + 0.15 * rng.standard_normal(v.size).clip(-1, 1), v, ".", ms=1.5, alpha=0.4)
        names = [k for k, _ in items]
        rot = 0 if sum(len(n) for n in names) * style.small * 0.6 < 0.8 * 72 * style.inches else 45
        ax.set_xticks(
            range(1, len(items) + 1), names, rotation=rot, ha="right" if rot else "center"
        )
        ax.set_xlabel("layer")
        ax.set_ylabel("firing rate\n(spikes per neuron per step)")
        ax.set_ylim(-0.02, 1.02)
        return _png(save(fig, path, style))


def plot_raster(
    spikes: np.ndarray | Sequence[tuple[str, np.ndarray]],
    path: str | Path,
    *,
    title: str = "",
    style: FigStyle | None = None,
) -> Path:
    """Spike raster: a ``(T, n_neurons)`` array, or ``[(layer name, (T, n)), ...]`` stacked
    with a separator line and the layer's name between layers; negative spikes (signed IF)
    in red."""
    if isinstance(spikes, np.ndarray) or (len(spikes) and not isinstance(spikes[0], tuple)):
        blocks = [("", np.asarray(spikes))]
    else:
        blocks = [(str(n), np.asarray(s)) for n, s in spikes]
    for n, s in blocks:
        if s.ndim != 2:
            raise ValueError(
                f"spikes{f' of {n}' if n else ''} must have shape (T, n_neurons), got {s.shape}"
            )
    style = style or FigStyle()
    T = max(s.shape[0] for _, s in blocks)
    with rc(style):
        fig, ax = figure(style, 2.2 + 0.1 * len(blocks))
        base, centers, neg = 0, [], False
        for k, (_, s) in enumerate(blocks):
            t, n = np.nonzero(s > 0)
            ax.plot(
                t, n + base, "|", color="k", ms=1.5, mew=0.5, label="+1 spike" if k == 0 else "_"
            )
            t, n = np.nonzero(s < 0)
            if t.size:
                ax.plot(
                    t,
                    n + base,
                    "|",
                    color="tab:red",
                    ms=1.5,
                    mew=0.5,
                    label="_" if neg else "-1 spike",
                )
                neg = True
            centers.append(base + (s.shape[1] - 1) / 2)
            base += s.shape[1]
            if k < len(blocks) - 1:
                ax.axhline(base - 0.5, color="0.5", lw=0.6)
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_ylim(-0.5, base - 0.5)
        ax.set_xlabel("time step")
        if blocks[0][0]:
            ax.set_yticks(centers, [n for n, _ in blocks])
            ax.tick_params(axis="y", length=0)
            ax.set_ylabel("layer (neurons stacked)")
        else:
            ax.set_ylabel("neuron")
        if neg:
            legend_below(fig, style)
        if title:
            ax.set_title(title, fontsize=style.small)
        return _png(save(fig, path, style))


def plot_streaming(stream: Mapping, path: str | Path, *, style: FigStyle | None = None) -> Path:
    """Streaming cost against the number of frames over one sweep of time (log-log): messages
    and synaptic ops per point and frame, and energy per point-frame (nJ) per profile with the
    ANN (FP32 dashed, INT8 dotted). ``stream``: the ``stream`` record of ``sigma_delta.json``.
    Full width: the two panels side by side; column width: stacked."""
    rows = stream["rows"]
    if not rows:
        raise ValueError("plot_streaming needs at least one row in stream['rows']")
    style = style or FigStyle()
    k = [r["frames"] for r in rows]
    full = style.width == "full"
    with rc(style):
        fig, ax = figure(style, 2.6 if full else 4.6, 1 if full else 2, 2 if full else 1)
        a, b = ax
        m = [r["messages_per_point_frame"] for r in rows]
        s = [r["synops_per_point_frame"] for r in rows]
        a.loglog(k, m, "o-", label="messages")
        a.loglog(k, s, "s-", label="synaptic ops")
        a.set_xlabel("frames over the sweep")
        a.set_ylabel("count per point and frame")
        log_ticks(a.yaxis, m + s)
        a.legend(loc="best")
        vals = []
        for p in rows[0]["energy_nj_per_point_frame"]:
            e = [r["energy_nj_per_point_frame"][p] for r in rows]
            b.loglog(k, e, "o-", label=f"SNN, {p}")
            vals += e
        for key, ls, lab in (("ann_fp32_nj", "--", "ANN FP32"), ("ann_int8_nj", ":", "ANN INT8")):
            v = rows[0].get(key)
            if v is not None and np.isfinite(v):
                b.axhline(v, color="k", ls=ls, lw=1, label=lab)
                vals.append(v)
        b.set_xlabel("frames over the sweep")
        b.set_ylabel("energy per point-frame (nJ)")
        log_ticks(b.yaxis, vals)
        for x in (a, b):
            log_ticks(x.xaxis, k)
            x.grid(True, which="major", alpha=0.3)
        legend_below(fig, style, *b.get_legend_handles_labels())
        return _png(save(fig, path, style))


__all__ = [
    "ENERGY_LABEL",
    "ERROR_LABEL",
    "ParetoPoint",
    "log_ticks",
    "merge_bit_exact",
    "pareto_front",
    "plot_error_vs_T",
    "plot_firing_rates",
    "plot_pareto",
    "plot_raster",
    "plot_streaming",
    "points_from_reports",
]
