"""Quantization of a float :class:`~lava_pinn.conversion.network.SpikingNetwork` to Loihi 2
integers (:class:`~exporters.intnet.IntegerNetwork`): :func:`quantize`.

**Units.** Spikes do not change when a neuron's input weights, bias, threshold and initial
potential are all multiplied by one ``c > 0``. Neuron ``i`` of layer ``l`` gets a unit ``k_i``
(the float value of one integer ``v`` unit); with the Dense exponent ``e`` and the neuron's input
shift ``act`` (0 for IF, 6 for Lava's LIF, whose threshold compares as ``vth << 6``, ``unit`` 64)

    W_int[i, j] ~ W[i, j] / s_i,   s_i = k_i * 2**(e + act)   (8-bit mantissa, per row scale)
    th_int[i] = round(V_i / (k_i * unit)),  bias_v[i] = round(b_i / k_i),
    v0_int[i] = round(v0_i / k_i)

Soft-reset IF rows choose ``s_i`` so the row's largest ``|W[i, :]|`` uses the full 8 bits; Lava's
LIF has one ``vth`` per layer, so ``k_i = V_i / (64 vth)``. ``e`` (-8..8) is the largest exponent
with the worst-case ``|v| <= |v0| + V + T max|I|`` inside 24 bits and the threshold inside its bit
width (graded IF: ``v`` stays within 15 quanta of its firing range, so its bound is that range plus
its largest current). A negative ``e`` shifts the summed input right (a floor, once per step); bias
correction adds the floor's mean back. Rows get fewer weight bits only when ``e = -8`` does not fit.
Mixed-sign matrices are rounded to even integers (Lava's Dense keeps those).

**Two weight groups** (``weight_groups=2``; custom IF neurons and the readout, no netx): a second
Dense process per synapse carries the first one's rounding residual ``FINE_SHIFT = 7`` exponents
lower, ``W ~ s_i (Q + F 2**-7)`` with ``F`` 8-bit and ``a = (Q s << e) + (F s << e - 7)``.

**Host-side first layer**: 16-bit input ``x_q = round(x / input_scale)``, ``input_scale =
x_max / 2**14`` (``x_max``: the larger of the domain bound and the calibration points'), 16-bit
weights, ``k_i`` chosen so the largest current over that range is about ``2**22``.

**Readout**: ``y = output_scale * (acc / T + bias)``, ``acc = sum_t (W_int s_t) << e``, a float
``output_scale`` per output (8-bit mantissa per row), int32 bias.

**Search.** Per Dense layer and readout, the :class:`ScaleCandidate` s (rounding rule from
:data:`ROUNDINGS`: ``nearest`` or ``compensated``, i.e. GPTQ/OBQ sequential rounding weighted by
``H = E[r r^T]`` of the input rates; range fill; row-scale refinement; bias correction of the
mean current error ``E[(W_eff - W) r]``) are tried by coordinate descent, each scored by
:func:`_twin_score` (the twin on calibration points against the float SNN). Then every layer
in order, and the whole chain at once, is tried re-fitted by ridge least squares to the spikes
the integer layers before it emit (target: the float currents ``r_float W^T + b``, on a second
set of points), kept where the score improves.

Nothing is clipped silently: what rounds to zero is counted in the
:class:`~exporters.quant_report.QuantizationReport` (warned when significant); a layer whose
dynamic range exceeds the bit widths raises :class:`QuantizationError` naming the layer and the
range.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace

import numpy as np
import torch

from exporters.intnet import IntegerNetwork, check_weight_groups
from exporters.quant_layers import (
    DEFAULT_CANDIDATES,
    ROUNDINGS,
    ZERO_WARN_FRACTION,
    QuantizationError,
    ScaleCandidate,
    _float_layers,
    _quantize_dense,
    _quantize_host,
    _quantize_readout,
    _Stats,
    round_compensated,
    round_nearest,
)
from exporters.quant_report import LayerReport, QuantizationReport
from exporters.twin import run_twin
from lava_pinn._warnings import outside
from lava_pinn.conversion.convert import CALIBRATION_BOUNDARY, default_calibration_points
from lava_pinn.conversion.network import SpikingNetwork
from lava_pinn.neurons import NEURONS
from lava_pinn.problems import get_problem
from lava_pinn.validation import check_count

__all__ = [
    "DEFAULT_CANDIDATES",
    "ROUNDINGS",
    "QuantizationError",
    "QuantizationReport",
    "ScaleCandidate",
    "quantize",
    "round_compensated",
    "round_nearest",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the search
def _calibration_points(snn, x: object, n: int, seed: int) -> torch.Tensor:
    if x is None:
        problem = snn.metadata.get("problem")
        if problem:
            params = snn.metadata.get("problem_params", {})
            return default_calibration_points(problem, params, n, seed)
        kept = snn.metadata.get("quantization_points")
        if not isinstance(kept, torch.Tensor) or kept.shape[1:] != (snn.in_features,):
            raise ValueError(
                "quantize(snn, calibration_inputs): the SNN names no problem and keeps no "
                "calibration points in its metadata (converted by an older lava-pinn); pass "
                f"calibration points of shape (n, {snn.in_features}) from the input domain"
            )
        x = kept
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"calibration_inputs must be a torch.Tensor or numpy array of shape "
            f"(n, {snn.in_features}), got {type(x).__name__}"
        )
    if x.ndim != 2 or x.shape[1] != snn.in_features or x.shape[0] < 1:
        raise ValueError(
            f"calibration_inputs must have shape (n >= 1, {snn.in_features}), got {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("calibration_inputs hold NaN or inf values; pass finite points")
    return x.detach().to(torch.float64)


def _input_range(snn, x: torch.Tensor) -> np.ndarray:
    """``x_max`` per input: the larger of the calibration points' and the problem domain's."""
    x_max = x.abs().max(dim=0).values.numpy()
    problem = snn.metadata.get("problem")
    if problem:
        try:
            box = get_problem(problem, **snn.metadata.get("problem_params", {})).domain
            dom = np.maximum(np.abs(box.low), np.abs(box.high))
            if dom.shape == x_max.shape:
                x_max = np.maximum(x_max, dom)
        except (KeyError, TypeError, ValueError) as err:
            log.info("problem %r not usable for the input range (%s)", problem, err)
    return np.where(x_max > 0, x_max, 1.0).astype(np.float64)


def _stats(r: np.ndarray) -> _Stats:
    return _Stats(H=(r.T @ r) / max(r.shape[0], 1), mean=r.mean(axis=0))


def _twin_score(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The search's score per output column: ``||y_c - ref_c|| / ||ref_c||``, where a zero
    reference column divides by the whole ``ref``'s norm (at least 1e-30) so the score stays
    finite for the descent; in the arrays' own dtype. It is not :func:`lava_pinn.metrics.rel_l2`
    (which gives ``inf`` for a zero reference and computes in float64) on purpose: the
    candidates chosen, hence the integer networks, stay exactly what they are."""
    den = np.linalg.norm(ref, axis=0)
    den = np.where(den > 0, den, max(float(np.linalg.norm(ref)), 1e-30))
    return np.linalg.norm(y - ref, axis=0) / den


def _refit(
    W: np.ndarray, b: np.ndarray, r: np.ndarray, y: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """A layer (or the readout) re-fitted to the integer network's own input rates ``r``:
    ``min ||[r 1] [W' b']^T - y||^2 / n + lam ||W' - W||^2`` with ``lam = ridge * mean(diag H)``
    (ridge towards the float weights; ``y = r_float W^T + b``: the float currents at rate
    level, for the readout the float SNN's outputs)."""
    n = r.shape[0]
    A = np.hstack([r, np.ones((n, 1))])
    H = A.T @ A / n
    reg = ridge * max(float(np.trace(H[:-1, :-1])) / max(r.shape[1], 1), 1e-12)
    R = reg * np.eye(H.shape[0])
    R[-1, -1] = 0.0
    theta0 = np.hstack([W, b[:, None]]).T
    sol = np.linalg.solve(H + R, A.T @ y / n + R @ theta0)
    return sol[:-1].T.copy(), sol[-1].copy()


def _fit_points(snn, given, x, counts, layers, n_fit, seed):
    """Points and float rates the re-fit uses: at least ``n_fit`` (default twice the widest
    layer, so the least squares is over-determined): the calibration points, topped up with
    seeded domain points of the problem the SNN names (a quarter on its boundary, as
    :func:`lava_pinn.convert` calibrates); without a problem, the calibration points alone."""
    T = snn.T
    need = 2 * max(fl.W.shape[0] for fl in layers) if n_fit is None else n_fit
    if given is None:
        x_fit = _calibration_points(snn, None, max(need, x.shape[0]), seed + 1)
    elif x.shape[0] >= need or not snn.metadata.get("problem"):
        if x.shape[0] < need:
            log.info("re-fit on %d points (%d would over-determine it)", x.shape[0], need)
        return x.numpy(), [c.double().numpy() / T for c in counts]
    else:
        extra = default_calibration_points(
            snn.metadata["problem"],
            snn.metadata.get("problem_params", {}),
            need - x.shape[0],
            seed + 1,
            boundary=CALIBRATION_BOUNDARY,
        )
        x_fit = torch.cat([x, extra])
    with torch.no_grad():
        _, counts_fit = snn.run(x_fit)
    return x_fit.numpy(), [c.double().numpy() / T for c in counts_fit]


def quantize(
    snn,
    calibration_inputs: torch.Tensor | np.ndarray | None = None,
    *,
    candidates: tuple[ScaleCandidate, ...] = DEFAULT_CANDIDATES,
    search: bool = True,
    refit: bool = True,
    ridges: tuple[float, ...] = (1e-3, 1e-2),
    n_points: int = 256,
    n_fit: int | None = None,
    seed: int = 1,
    weight_groups: int = 1,
) -> tuple[IntegerNetwork, QuantizationReport]:
    """Map a float SNN onto Loihi 2 integers; returns the network and its report.

    ``snn``: a :class:`~lava_pinn.conversion.network.SpikingNetwork` with neuron models ``if``,
    ``graded-if``, ``signed-if`` or ``lif-hard``. ``calibration_inputs``: points
    ``(n, in_features)`` scored by the search (``None``: ``n_points`` seeded points from the problem
    in ``snn.metadata``). ``candidates``: the :class:`ScaleCandidate` s tried per Dense layer and
    for the readout (the first is the starting point); ``search=False`` keeps the first. ``refit``:
    then, per ridge in ``ridges``, the whole chain is re-fitted: each Dense layer and the readout in
    order, to the spikes the integer layers before it really produce (see :func:`_refit`), on a
    set of at least ``n_fit`` points (default ``2 * widest layer``, so the least squares is
    over-determined): ``calibration_inputs`` (or ``n_points`` seeded ones) topped up with seeded
    points of the problem the SNN names (:func:`_fit_points`); a re-fitted chain is kept only
    where the twin scores better (also with ``search=False``). ``weight_groups=2`` gives every
    Dense synapse (hidden layers and readout) a second, fine weight group: about 15-bit weights
    at twice the synapses and synaptic operations (sets every candidate's ``weight_groups``;
    custom IF neurons only, not Lava's LIF, and not exportable to netx).
    Raises :class:`QuantizationError` for a layer that does not fit the bit widths.
    """

    if not isinstance(snn, SpikingNetwork):
        hint = (
            "; quantize each axis network (snn.axis_nets[i]) of a SpikingSPINN"
            if hasattr(snn, "axis_nets")
            else ""
        )
        raise TypeError(f"quantize needs a SpikingNetwork, got {type(snn).__name__}{hint}")
    candidates = tuple(candidates)
    if not candidates or not all(isinstance(c, ScaleCandidate) for c in candidates):
        raise TypeError("candidates must be a non-empty tuple of ScaleCandidate")
    check_weight_groups(weight_groups, "weight_groups")
    lif = [la.neuron for la in snn.hidden[1:] if NEURONS.get(la.neuron).act_shift]
    if weight_groups == 2 and lif:
        raise ValueError(
            f"weight_groups=2 needs custom IF neurons behind every Dense synapse; this network "
            f"has {lif[0]!r} (Lava's LIF takes one Dense group). Use weight_groups=1"
        )
    candidates = tuple(replace(c, weight_groups=weight_groups) for c in candidates)
    check_count(n_points, "n_points")
    check_count(1 if n_fit is None else n_fit, "n_fit")
    ridges = tuple(ridges)
    if not ridges or not all(isinstance(r, (int, float)) and r > 0 for r in ridges):
        raise ValueError(f"ridges must be numbers > 0, got {ridges!r}")
    T = snn.T
    layers = _float_layers(snn)
    specs = [NEURONS.get(fl.neuron) for fl in layers]
    x = _calibration_points(snn, calibration_inputs, n_points, seed)
    with torch.no_grad():
        y_ref, counts = snn.run(x)
    y_ref = y_ref.double().numpy()
    stats = [_stats(c.double().numpy() / T) for c in counts]
    x_np = x.numpy()
    host, host_rep, in_scale = _quantize_host(layers[0], specs[0], _input_range(snn, x))
    W_out = snn.output.weight.detach().cpu().double().numpy()
    b_out = snn.output.bias.detach().cpu().double().numpy()
    L, nc = len(layers), len(candidates)
    cache: dict[tuple[int, int], tuple] = {}
    warned: dict[tuple[int, int], list[warnings.WarningMessage]] = {}
    # re-fitted slots: (slot, k) -> (W', b', input statistics, candidate index, ridge)
    refits: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, _Stats, int, float]] = {}

    def part(i: int, c: int) -> tuple:
        """Slot ``i`` (1..L-1: hidden layer, L: readout) built with candidate ``c``
        (``c >= nc``: the re-fitted option ``c - nc`` of that slot)."""
        if (i, c) not in cache:
            if c < nc:
                W, b, st, ci = None, None, stats[i - 1], c
            else:
                W, b, st, ci, _ = refits[i, c - nc]
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                if i < L:
                    fl = layers[i] if W is None else replace(layers[i], W=W, b=b)
                    cache[i, c] = _quantize_dense(fl, specs[i], st, candidates[ci], T, specs[i - 1])
                else:
                    W, b = (W_out, b_out) if W is None else (W, b)
                    cache[i, c] = _quantize_readout(
                        W, b, st, candidates[ci], T, specs[L - 1].levels
                    )
            warned[i, c] = list(w)
        return cache[i, c]

    def label(i: int, c: int) -> str:
        if c < nc:
            return candidates[c].label
        _, _, _, ci, ridge = refits[i, c - nc]
        return f"refit(ridge={ridge:g}),{candidates[ci].label}"

    def assemble(choice: list[int]) -> IntegerNetwork:
        hidden = [host] + [part(i, choice[i])[0] for i in range(1, L)]
        ro, out_scale, _ = part(L, choice[L])
        return IntegerNetwork(tuple(hidden), ro, in_scale, out_scale, T)

    caught: list[warnings.WarningMessage] = []

    def twin(net: IntegerNetwork, pts: np.ndarray):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            res = run_twin(net, pts)
        caught.extend(w)
        return res

    def score(net: IntegerNetwork) -> np.ndarray:
        return _twin_score(twin(net, x_np).y, y_ref)

    choice = [0] * (L + 1)
    best_err = score(assemble(choice))
    evaluations = 1
    tried: dict[int, list[tuple[str, float]]] = {i: [] for i in range(1, L + 1)}

    def try_slot(i: int, options: list[int] | range) -> None:
        nonlocal best_err, choice, evaluations
        if not tried[i]:
            tried[i].append((label(i, choice[i]), float(best_err.mean())))
        for c in options:
            if c == choice[i]:
                continue
            trial = list(choice)
            trial[i] = c
            try:
                err = score(assemble(trial))
            except QuantizationError as exc:
                log.info("slot %d candidate %s refused: %s", i, label(i, c), exc)
                continue
            evaluations += 1
            tried[i].append((label(i, c), float(err.mean())))
            if err.mean() < best_err.mean():
                best_err, choice = err, trial
        log.info("slot %d: kept %s (objective %.3e)", i, label(i, choice[i]), best_err.mean())

    if search and nc > 1:
        for i in range(1, L + 1):
            try_slot(i, range(nc))
    if refit:
        x_fit, rates_fit = _fit_points(snn, calibration_inputs, x, counts, layers, n_fit, seed)
        base = list(choice)
        for ridge in ridges:
            # re-fit the whole chain in order: each layer (and the readout) to the inputs the
            # integer layers before it really spike, least squares towards the float currents
            # at rate level (a layer's refit pays off only with the next ones refit too)
            trial = list(base)
            try:
                for i in range(1, L + 1):
                    r = twin(assemble(trial), x_fit).counts[i - 1] / T
                    evaluations += 1
                    W, b = (layers[i].W, layers[i].b) if i < L else (W_out, b_out)
                    W2, b2 = _refit(W, b, r, rates_fit[i - 1] @ W.T + b, float(ridge))
                    k = sum(1 for key in refits if key[0] == i)
                    ci = base[i] if base[i] < nc else 0
                    refits[i, k] = (W2, b2, _stats(r), ci, float(ridge))
                    trial[i] = nc + k
                err = score(assemble(trial))
            except QuantizationError as exc:
                log.info("re-fitted chain (ridge %g) refused: %s", ridge, exc)
                continue
            evaluations += 1
            for i in range(1, L + 1):
                if not tried[i]:
                    tried[i].append((label(i, base[i]), float(best_err.mean())))
                tried[i].append((label(i, trial[i]), float(err.mean())))
            log.info("re-fitted chain (ridge %g): objective %.3e", ridge, err.mean())
            if err.mean() < best_err.mean():
                best_err, choice = err, trial
    net = assemble(choice)
    # warnings of the kept candidates (once each), then those of the twin runs, at the line of
    # the caller outside the library
    kept = [w for i in range(1, L + 1) for w in warned.get((i, choice[i]), [])]
    for msg in {str(w.message): w for w in kept + caught}.values():
        warnings.warn(msg.message, msg.category, stacklevel=outside())
    reports = [host_rep] + [
        _with_search(replace(part(i, choice[i])[1], choice=label(i, choice[i])), tried[i])
        for i in range(1, L)
    ]
    ro_rep = replace(part(L, choice[L])[2], choice=label(L, choice[L]))
    report = QuantizationReport(
        neuron=layers[0].neuron if len({fl.neuron for fl in layers}) == 1 else "mixed",
        T=T,
        layers=tuple(reports),
        readout=_with_search(ro_rep, tried[L]),
        input_scale=tuple(float(v) for v in net.input_scale),
        output_scale=tuple(float(v) for v in net.output_scale),
        calibration_points=int(x.shape[0]),
        twin_vs_float=tuple(float(v) for v in best_err),
        objective=float(best_err.mean()),
        search_evaluations=evaluations,
    )
    _say_zeroed(report, weight_groups, lif_layers=bool(lif))
    log.info("%s", report.summary())
    return net, report


def _say_zeroed(report: QuantizationReport, weight_groups: int, *, lif_layers: bool) -> None:
    """One line for the layers whose weights rounding to 0 carry more than
    :data:`ZERO_WARN_FRACTION` of the layer's norm: a warning saying what to do where a second
    weight group would keep them (custom IF neurons, one group so far), a log record otherwise
    (Lava's LIF takes one group; two groups already): the error it costs is in the report."""
    hit = [
        la
        for la in (*report.layers, report.readout)
        if la.zeroed_norm_fraction > ZERO_WARN_FRACTION
    ]
    if not hit:
        return
    pct = [100 * la.zeroed_norm_fraction for la in hit]
    text = (
        f"{', '.join(la.name for la in hit)}: {sum(la.rounded_to_zero for la in hit)} of "
        f"{sum(la.nonzero_weights for la in hit)} nonzero weights round to 0 at "
        f"{8 if weight_groups == 1 else 15} bits ({min(pct):.1f}"
        + (f"-{max(pct):.1f}" if max(pct) - min(pct) >= 0.05 else "")
        + "% of each layer's weight norm)"
    )
    fixable = weight_groups == 1 and not lif_layers and any(la.kind != "host" for la in hit)
    if fixable:
        warnings.warn(
            f"{text}; if the error is too high, export with --weight-groups 2 (Python: "
            f"weight_groups=2): a second 8-bit group per synapse keeps them, at twice the "
            f"synapses and synaptic operations",
            stacklevel=outside(),
        )
    else:
        why = "Lava's LIF takes one weight group" if lif_layers else "nothing finer to add"
        log.info("%s; %s; the reported error includes it", text, why)


def _with_search(rep: LayerReport, tried: list[tuple[str, float]]) -> LayerReport:
    return replace(rep, search=tuple(tried))
