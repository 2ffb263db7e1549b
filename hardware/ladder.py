"""The equivalence ladder: one network, the same points, every stage from the ANN to Lava.

Rungs, in order (each one reproduces the rung named in :data:`CHECKS`); every rung but the ANN
runs on the backend of :data:`RUNG_BACKENDS` (:func:`hardware.backends.get_backend`):

==============  ====================  ===========================================  ==============
rung            backend               what runs                                    reproduces
==============  ====================  ===========================================  ==============
``ann``         --                    the trained PINN (torch), when given         --
``snn-float``   ``torch-float``       the converted spiking network, float torch   ``ann`` (info)
``snn-int``     ``torch-twin``        the quantized integer network, torch twin    ``snn-float``
``lava-float``  ``lava-cpu-float``    the float network, Lava ``floating_pt``      ``snn-float``
``lava-fixed``  ``lava-cpu``          the integer network, Lava ``fixed_pt``       ``snn-int`` (==)
==============  ====================  ===========================================  ==============

For every rung: the relative L2 error ``||y - y_ref|| / ||y_ref||`` against the reference (the
exact solution when given, else the ANN) and against the previous rung. For every check: the
relative difference to the rung it reproduces and a verdict against its tolerance
(``lava-fixed`` must equal ``snn-int`` exactly: ``==`` on every output and spike count). When a
check fails, both rungs' backends run again on the differing points with ``trace=True``
(spikes recorded step by step; Lava: at most :data:`MAX_TRACE_POINTS` points) and the report
names the first layer and time step where the two rungs diverge (earliest local step ``k``,
then lowest layer: with zero-delay local time, layer ``l`` at step ``k`` depends only on
layers ``<= l`` at steps ``<= k``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from exporters.artifact import load_artifact
from exporters.intnet import IntegerNetwork
from exporters.quantizer import quantize
from hardware.backends import LoadedNetwork, get_backend
from lava_pinn.metrics import rel_l2

log = logging.getLogger(__name__)

RUNGS = ("ann", "snn-float", "snn-int", "lava-float", "lava-fixed")
DESCRIPTIONS = {
    "ann": "ANN (torch)",
    "snn-float": "float SNN (torch)",
    "snn-int": "quantized SNN (torch twin)",
    "lava-float": "Lava floating_pt",
    "lava-fixed": "Lava fixed_pt",
}
# rung -> (rung it reproduces, default tolerance on the relative difference; None: information
# only, 0.0: bit-exact ``==``)
CHECKS: dict[str, tuple[str, float | None]] = {
    "snn-float": ("ann", None),
    "snn-int": ("snn-float", 0.05),
    "lava-float": ("snn-float", 1e-9),
    "lava-fixed": ("snn-int", 0.0),
}
# rung -> the backend that runs it
RUNG_BACKENDS = {
    "snn-float": "torch-float",
    "snn-int": "torch-twin",
    "lava-float": "lava-cpu-float",
    "lava-fixed": "lava-cpu",
}
MAX_TRACE_POINTS = 4  # Lava step-by-step reruns: at most this many differing points


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Divergence:
    """Where two rungs' spike trains first differ (``step`` local, 1..T; global Lava step =
    ``step + layer``). ``layer == depth`` (``"readout"``, ``step`` None): identical spikes but
    different outputs."""

    layer: int
    layer_name: str
    step: int | None
    point: int | None  # index into the ladder's points
    neuron: int | None
    differing_spikes: int  # (point, step, neuron) entries that differ in that layer
    first_step_per_layer: tuple[int | None, ...]

    def describe(self) -> str:
        if self.step is None:
            return f"{self.layer_name}: spikes identical, outputs differ"
        return (
            f"layer {self.layer} ({self.layer_name}), step {self.step} (Lava step "
            f"{self.step + self.layer}), point {self.point}, neuron {self.neuron}; "
            f"{self.differing_spikes} spike(s) differ in that layer"
        )

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "layer_name": self.layer_name,
            "step": self.step,
            "lava_step": None if self.step is None else self.step + self.layer,
            "point": self.point,
            "neuron": self.neuron,
            "differing_spikes": self.differing_spikes,
            "first_step_per_layer": list(self.first_step_per_layer),
        }


def first_divergence(
    a: list[np.ndarray],
    b: list[np.ndarray],
    names: list[str] | None = None,
    points: np.ndarray | None = None,
) -> Divergence | None:
    """First (step, layer) where spike traces ``a`` and ``b`` (per layer ``(n, T, n_l)``) differ;
    ``None`` when identical. ``points`` maps trace rows to ladder point indices."""
    if len(a) != len(b):
        raise ValueError(f"traces have {len(a)} and {len(b)} layers")
    firsts: list[int | None] = []
    best = None
    for li, (x, y) in enumerate(zip(a, b, strict=True)):
        if x.shape != y.shape:
            raise ValueError(f"layer {li}: trace shapes {x.shape} and {y.shape} differ")
        diff = np.asarray(x, dtype=np.int64) != np.asarray(y, dtype=np.int64)
        steps = np.flatnonzero(diff.any(axis=(0, 2)))
        if steps.size == 0:
            firsts.append(None)
            continue
        k = int(steps[0])
        firsts.append(k + 1)
        if best is None or k < best[0]:
            p, j = (int(i) for i in np.argwhere(diff[:, k, :])[0])
            best = (k, li, p, j, int(diff.sum()))
    if best is None:
        return None
    k, li, p, j, nd = best
    return Divergence(
        layer=li,
        layer_name=names[li] if names else f"layer{li}",
        step=k + 1,
        point=int(points[p]) if points is not None else p,
        neuron=j,
        differing_spikes=nd,
        first_step_per_layer=tuple(firsts),
    )


@dataclass(frozen=True)
class Rung:
    """One rung's outputs on the ladder's points."""

    name: str
    y: np.ndarray  # (n_points, n_out)
    seconds: float
    spikes_per_point: float | None  # spikes of either sign, all hidden layers
    rel_to_reference: float | None
    rel_to_previous: float | None
    rel_per_output: tuple[float, ...] | None  # vs the reference, per output column

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": DESCRIPTIONS[self.name],
            "seconds": self.seconds,
            "spikes_per_point": self.spikes_per_point,
            "rel_to_reference": self.rel_to_reference,
            "rel_to_previous": self.rel_to_previous,
            "rel_per_output": None if self.rel_per_output is None else list(self.rel_per_output),
        }


@dataclass(frozen=True)
class Check:
    """``rung`` against the rung it reproduces."""

    rung: str
    against: str
    rel_diff: float
    tolerance: float | None  # None: information only; 0.0: bit-exact
    identical: bool  # outputs and every spike count equal (==)
    divergence: Divergence | None = None

    @property
    def ok(self) -> bool | None:
        if self.tolerance is None:
            return None
        if self.tolerance == 0.0:
            return self.identical
        return self.rel_diff <= self.tolerance

    def to_dict(self) -> dict:
        return {
            "rung": self.rung,
            "against": self.against,
            "rel_diff": self.rel_diff,
            "tolerance": self.tolerance,
            "identical": self.identical,
            "ok": self.ok,
            "divergence": None if self.divergence is None else self.divergence.to_dict(),
        }


@dataclass(frozen=True)
class LadderReport:
    """What :func:`equivalence_ladder` measured; :meth:`to_markdown`, :meth:`to_dict`."""

    rungs: tuple[Rung, ...]
    checks: tuple[Check, ...]
    reference: str | None  # "exact", "ann" or None
    n_points: int
    T: int
    output_names: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Every check with a tolerance passed."""
        return all(c.ok is not False for c in self.checks)

    def rung(self, name: str) -> Rung:
        for r in self.rungs:
            if r.name == name:
                return r
        raise KeyError(f"no rung {name!r}; this ladder has {[r.name for r in self.rungs]}")

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.rung == name:
                return c
        raise KeyError(f"no check for {name!r}; checked: {[c.rung for c in self.checks]}")

    def to_dict(self) -> dict:
        return {
            "reference": self.reference,
            "n_points": self.n_points,
            "T": self.T,
            "output_names": list(self.output_names),
            "ok": self.ok,
            "rungs": [r.to_dict() for r in self.rungs],
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_markdown(self) -> str:
        def pct(v: float | None) -> str:
            return "--" if v is None else f"{100 * v:.4g}%"

        checks = {c.rung: c for c in self.checks}
        ref = {"exact": "exact solution", "ann": "ANN", None: "none"}[self.reference]
        lines = [
            f"Equivalence ladder: {self.n_points} points, T = {self.T}, reference: {ref}.",
            "",
            "| rung | rel. L2 vs reference | vs previous rung | reproduces | rel. diff "
            "| tolerance | result | spikes/point | s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rungs:
            c = checks.get(r.name)
            if c is None:
                cc = ["--"] * 4
            else:
                tol = (
                    "info"
                    if c.tolerance is None
                    else ("==" if c.tolerance == 0 else pct(c.tolerance))
                )
                res = {None: "--", True: "ok", False: "**MISMATCH**"}[c.ok]
                if c.tolerance == 0.0 or c.identical:
                    res += " (identical)" if c.identical else " (not identical)"
                cc = [DESCRIPTIONS[c.against], pct(c.rel_diff), tol, res]
            spp = "--" if r.spikes_per_point is None else f"{r.spikes_per_point:.1f}"
            lines.append(
                f"| {DESCRIPTIONS[r.name]} | {pct(r.rel_to_reference)} | "
                f"{pct(r.rel_to_previous)} | {' | '.join(cc)} | {spp} | {r.seconds:.2f} |"
            )
        div = [c for c in self.checks if c.divergence is not None]
        if div:
            lines.append("")
            for c in div:
                lines.append(
                    f"- {DESCRIPTIONS[c.rung]} vs {DESCRIPTIONS[c.against]}: first divergence at "
                    f"{c.divergence.describe()}"
                )
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- sources
def _resolve(source: Any, x: np.ndarray, network: IntegerNetwork | None):
    """``(float_snn, IntegerNetwork)`` from an artifact, an artifact path or a float SNN."""
    if isinstance(source, (str, os.PathLike)):
        source = load_artifact(Path(source))
    if isinstance(getattr(source, "network", None), IntegerNetwork):  # an Artifact
        if source.float_snn is None:
            where = getattr(source, "path", "the artifact")
            raise ValueError(
                f"{where} holds no float SNN (it was exported from an IntegerNetwork); the "
                f"ladder needs one: export the float SpikingNetwork (exporters.export(snn, path))"
            )
        snn, network = source.float_snn, network or source.network
    else:
        snn = source
    if not all(hasattr(snn, a) for a in ("hidden", "output", "T")):
        raise TypeError(
            f"equivalence_ladder needs an Artifact (exporters.load_artifact), an artifact path or "
            f"a SpikingNetwork, got {type(source).__name__}"
        )
    if network is None:
        log.info("quantizing the float SNN on the %d ladder points", x.shape[0])
        network, _ = quantize(snn, torch.as_tensor(x))
    if not isinstance(network, IntegerNetwork):
        raise TypeError(f"network must be an IntegerNetwork, got {type(network).__name__}")
    if network.T != snn.T:
        raise ValueError(
            f"the integer network runs T = {network.T} steps but the float SNN T = {snn.T}; "
            f"quantize the SNN at the T you evaluate"
        )
    return snn, network


# ---------------------------------------------------------------------------- the ladder
@dataclass
class _Run:
    y: np.ndarray
    counts: list[np.ndarray] | None
    events: float | None
    seconds: float
    trace: Any = None  # callable(points) -> spikes list


def equivalence_ladder(
    source: Any,
    x: np.ndarray | torch.Tensor,
    *,
    ann: torch.nn.Module | None = None,
    exact: np.ndarray | None = None,
    network: IntegerNetwork | None = None,
    lava: bool = True,
    batch: int = 16,
    tolerances: dict[str, float | None] | None = None,
    output_names: tuple[str, ...] = (),
    timeout_s: float = 600.0,
) -> LadderReport:
    """Run every rung of the ladder (module docstring) on the points ``x`` ``(n, in)``.

    ``source``: an :class:`exporters.artifact.Artifact` (its ``network`` and ``float_snn``), a
    path to one, or a float ``SpikingNetwork`` (quantized on ``x`` with
    :func:`exporters.quantize.quantize` unless ``network`` is given). ``ann``: the trained
    PINN; ``exact``: the exact solution on ``x`` ``(n, out)``; the reference is ``exact`` when
    given, else the ANN. ``lava=False`` skips the two Lava rungs. ``tolerances`` overrides
    :data:`CHECKS`' defaults by rung name. Lava graphs run ``batch`` points side by side.
    """
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must have shape (n_points, n_in), got {x.shape}")
    snn, net = _resolve(source, x, network)
    if x.shape[1] != net.in_features:
        raise ValueError(f"x has {x.shape[1]} columns but the network takes {net.in_features}")
    tol = {k: t for k, (_, t) in CHECKS.items()}
    for k, t in (tolerances or {}).items():
        if k not in CHECKS:
            raise ValueError(f"tolerances: no check named {k!r}; available: {list(CHECKS)}")
        tol[k] = t
    runs: dict[str, _Run] = {}
    if ann is not None:
        t0 = time.perf_counter()
        p = next(ann.parameters(), None)
        with torch.no_grad():
            ya = ann(torch.as_tensor(x, dtype=p.dtype if p is not None else torch.float32))
        runs["ann"] = _Run(ya.detach().cpu().double().numpy(), None, None, time.perf_counter() - t0)

    loaded = LoadedNetwork(integer=net, float_snn=snn, source="the ladder's network")

    def run_rung(rung: str, **options: Any) -> None:
        backend = get_backend(RUNG_BACKENDS[rung])
        t0 = time.perf_counter()
        out = backend.run(loaded, x, **options)
        runs[rung] = _Run(
            out.y,
            list(out.counts),
            sum(float(e.sum()) for e in out.events) / x.shape[0],
            time.perf_counter() - t0,
            lambda pts: list(backend.run(loaded, x[pts], trace=True, **options).spikes),
        )

    run_rung("snn-float")
    run_rung("snn-int")
    checks: list[Check] = []
    names = [la.name for la in net.hidden]

    def check(rung: str, pts_trace=None) -> None:
        against, t = CHECKS[rung][0], tol[rung]
        if against not in runs:
            return
        a, b = runs[rung], runs[against]
        rd = rel_l2(a.y, b.y)
        same = bool(np.array_equal(a.y, b.y)) and (
            a.counts is not None
            and b.counts is not None
            and all(np.array_equal(p, q) for p, q in zip(a.counts, b.counts, strict=True))
        )
        failed = (t == 0.0 and not same) or (t is not None and t > 0 and rd > t)
        div = None
        if failed and a.trace is not None and b.trace is not None:
            pts = _differing_points(a, b)
            if pts_trace is not None:
                pts = pts[:MAX_TRACE_POINTS]
            div = first_divergence(a.trace(pts), b.trace(pts), names, pts)
            if div is None:
                div = Divergence(len(names), "readout", None, None, None, 0, ())
        checks.append(Check(rung, against, rd, t, same, div))

    check("snn-float")
    check("snn-int")
    if lava:
        for rung in ("lava-float", "lava-fixed"):
            run_rung(rung, batch=batch, timeout_s=timeout_s)
            check(rung, pts_trace=True)
    reference, yref = None, None
    if exact is not None:
        yref = np.asarray(exact, dtype=np.float64).reshape(runs["snn-float"].y.shape)
        reference = "exact"
    elif "ann" in runs:
        reference, yref = "ann", runs["ann"].y
    rungs = []
    prev = None
    for name in RUNGS:
        if name not in runs:
            continue
        r = runs[name]
        rungs.append(
            Rung(
                name,
                _ro(r.y),
                r.seconds,
                r.events,
                None if yref is None else rel_l2(r.y, yref),
                None if prev is None else rel_l2(r.y, prev),
                None
                if yref is None
                else tuple(rel_l2(r.y[:, j], yref[:, j]) for j in range(yref.shape[1])),
            )
        )
        prev = r.y
    report = LadderReport(
        tuple(rungs), tuple(checks), reference, x.shape[0], net.T, tuple(output_names)
    )
    for c in checks:
        if c.ok is False:
            log.warning(
                "ladder: %s differs from %s (rel %.3g, tolerance %s)%s",
                c.rung,
                c.against,
                c.rel_diff,
                c.tolerance,
                "" if c.divergence is None else f"; first divergence: {c.divergence.describe()}",
            )
    return report


def _differing_points(a: _Run, b: _Run) -> np.ndarray:
    """Points whose outputs or spike counts differ between two runs (all points if none)."""
    bad = np.any(a.y != b.y, axis=1)
    if a.counts is not None and b.counts is not None:
        for p, q in zip(a.counts, b.counts, strict=True):
            bad |= np.any(np.asarray(p) != np.asarray(q), axis=1)
    pts = np.flatnonzero(bad)
    return pts if pts.size else np.arange(a.y.shape[0])
