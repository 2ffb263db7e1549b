"""Figures for the energy study: error vs ``T``, energy-error Pareto front, firing rates, raster.

matplotlib is imported inside each function with the Agg backend (no display needed); every
function writes one PNG (or any format matplotlib infers from the suffix) and returns its path.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lava_pinn.checkpoint import atomic_write_bytes


def _plt():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover
        raise ImportError(
            "plotting needs matplotlib: pip install 'lava-pinn[plot]' (or matplotlib>=3.7)"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:  # render in memory, then replace the file atomically: never a half-written figure
        fig.savefig(buf, dpi=150, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def plot_error_vs_T(
    T_values: Sequence[int],
    errors: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    ann_error: float | None = None,
    ylabel: str = "relative L2 error",
) -> Path:
    """Relative error against ``T`` (log-log), one line per method; the ANN as a dashed line."""
    T = np.asarray(T_values, float)
    if T.ndim != 1 or T.size == 0:
        raise ValueError("T_values must be a non-empty 1-D sequence")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, err in errors.items():
        e = np.asarray(err, float)
        if e.shape != T.shape:
            raise ValueError(f"errors[{name!r}] has {e.size} values for {T.size} T values")
        ax.plot(T, e, marker="o", label=name)
    if ann_error is not None:
        ax.axhline(ann_error, color="k", ls="--", lw=1, label="ANN")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("time steps T")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


@dataclass(frozen=True)
class ParetoPoint:
    """One run: its method, ``T``, energy per inference (J) and error."""

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


def plot_pareto(
    points: Sequence[ParetoPoint],
    path: str | Path,
    *,
    ann: tuple[float, float] | None = None,
    xlabel: str = "energy per inference (J)",
) -> Path:
    """Energy vs error over ``T`` and methods, with the Pareto front; ``ann = (energy, error)``."""
    if not points:
        raise ValueError("plot_pareto needs at least one point")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in dict.fromkeys(p.method for p in points):
        ps = sorted((p for p in points if p.method == method), key=lambda p: p.T)
        ax.plot([p.energy_j for p in ps], [p.error for p in ps], marker="o", ls=":", label=method)
        for p in ps:
            ax.annotate(f"T={p.T}", (p.energy_j, p.error), fontsize=6, alpha=0.7)
    front = pareto_front(points)
    ax.step(
        [p.energy_j for p in front],
        [p.error for p in front],
        where="post",
        color="k",
        lw=1,
        alpha=0.6,
        label="Pareto front",
    )
    if ann is not None:
        ax.plot([ann[0]], [ann[1]], marker="*", ms=10, color="k", ls="none", label="ANN")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("error")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


def plot_firing_rates(rates: Mapping[str, Sequence[float] | np.ndarray], path: str | Path) -> Path:
    """Per-layer firing rates (spikes per neuron per step): one box per layer, neurons as dots.

    Pass ``{name: rates}``, e.g. from :meth:`hardware.activity.SNNActivity.firing_rates`.
    """
    items = [(k, np.asarray(v, float).ravel()) for k, v in rates.items() if v is not None]
    if not items:
        raise ValueError("plot_firing_rates needs at least one layer of rates")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4, 1 + 0.8 * len(items)), 3.5))
    ax.boxplot([v for _, v in items], showfliers=False)
    rng = np.random.default_rng(0)
    for i, (_, v) in enumerate(items, start=1):
        ax.plot(i + 0.15 * rng.standard_normal(v.size).clip(-1, 1), v, ".", ms=2, alpha=0.5)
    ax.set_xticks(range(1, len(items) + 1), [k for k, _ in items], rotation=30)
    ax.set_ylabel("firing rate (spikes / neuron / step)")
    ax.set_ylim(-0.02, 1.02)
    return _save(fig, path)


def plot_raster(spikes: np.ndarray, path: str | Path, *, title: str = "") -> Path:
    """Spike raster of a ``(T, n_neurons)`` array; negative spikes (signed IF) drawn in red."""
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must have shape (T, n_neurons), got {s.shape}")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    t, n = np.nonzero(s > 0)
    ax.plot(t, n, "|", color="k", ms=4, label="+1")
    t, n = np.nonzero(s < 0)
    if t.size:
        ax.plot(t, n, "|", color="tab:red", ms=4, label="-1")
        ax.legend(fontsize=8)
    ax.set_xlim(-0.5, s.shape[0] - 0.5)
    ax.set_ylim(-0.5, s.shape[1] - 0.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title)
    return _save(fig, path)
