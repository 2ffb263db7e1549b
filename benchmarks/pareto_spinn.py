"""Pareto rows of a separable PINN (SPINN): each axis network deployed on its own, priced per
point of the problem's tensor reference grid.

A SPINN computes ``u_k(x_1..x_d) = sum_r prod_i f_i(x_i)[r, k]``. On an ``N_1 x ... x N_d``
grid the axis networks run ``N_1 + ... + N_d`` times in all and the host forms the rank-``R``
product-sum for every grid point. Per grid point (``P = N_1 ... N_d``)::

    cost = sum_i (N_i / P) * cost_i

where ``cost_i`` is axis network ``i``'s messages, synaptic ops or energy per evaluation (the
ANN's MACs and energies the same way). The host's product-sum,
``R * out * (N_1 N_2 + N_1 N_2 N_3 + ... + P) / P`` multiply-adds per point (contracting axis
by axis), is the same for every row and for the ANN, so no column includes it; the page
states it (and its 45 nm price in FP32 and INT8) beside the table.

Rows (the same representations as the MLP problems, axis by axis):

* ``sigma-delta`` (2 and 1 weight groups): each axis MLP converted with
  :func:`lava_pinn.sigma_delta.convert_sigma_delta` on its coordinate of 4,096 domain points,
  quantized with :func:`exporters.sigma_delta.quantize_delta`; thresholds chosen axis after
  axis with :func:`exporters.sigma_delta.thresholds.choose_thresholds`: axis ``i`` (the axes
  before it deployed, those after it still float) gets ``1 + s (i + 1) / d`` of the ANN's
  error, ``s`` half the budget's slack, so the whole network ends within ``1 + s``.
* ``sigma-delta-relu``: each axis through :func:`exporters.sigma_delta.quantize_relu` and the
  netx twin.
* rate-coded: ``lava_pinn.convert`` converts the SPINN axis by axis; each axis network is
  quantized and run on the integer twin as an MLP row is.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from types import SimpleNamespace

import numpy as np
import torch


def grid_weights(sizes: list[int]) -> list[float]:
    """``N_i / P``: axis ``i``'s evaluations per grid point."""
    p = math.prod(sizes)
    return [n / p for n in sizes]


def combine_macs(sizes: list[int], rank: int, out: int) -> float:
    """Host multiply-adds per grid point of the rank-``rank`` product-sum, contracting axis by
    axis: ``rank * out * (N_1 N_2 + N_1 N_2 N_3 + ... + P) / P`` (``rank * out`` adds for one
    axis)."""
    p = math.prod(sizes)
    if len(sizes) == 1:
        return float(rank * out)
    stages = sum(math.prod(sizes[: j + 1]) for j in range(1, len(sizes)))
    return rank * out * stages / p


def grid_context(ck, problem) -> dict:
    """The reference grid, the ANN's axis features and errors on it, and the weights."""
    from benchmarks.pareto import errors, finish
    from lava_pinn.models import combine_grid

    ref = problem.reference()
    axes = getattr(ref, "axes", None)
    if axes is None or len(axes) != ck.config.axes:
        raise ValueError(
            f"{ck.problem}: a SPINN row needs a tensor reference grid with one coordinate array "
            f"per axis ({ck.config.axes}); this reference has none"
        )
    axes = [torch.as_tensor(a, dtype=torch.float64) for a in axes]
    sizes = [int(a.numel()) for a in axes]
    model = copy.deepcopy(ck.model).double()  # the checkpoint's own model stays as it is
    with torch.no_grad():
        feats = [model.axis_features(i, a) for i, a in enumerate(axes)]
    pts = ref.points.double()
    mesh = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
    if mesh.shape != pts.shape or not torch.allclose(mesh, pts, atol=1e-6):
        raise ValueError(
            f"{ck.problem}: the reference points are not the tensor grid of its axes in "
            "'ij' order (the first axis slowest), which the SPINN rows' grid evaluation needs"
        )
    ann_y = finish(ck, problem, pts, combine_grid(feats).reshape(-1, ck.config.out_features))
    vals = ref.values.double()
    return {
        "axes": axes,
        "sizes": sizes,
        "weights": grid_weights(sizes),
        "points": pts,
        "ref": vals,
        "ann_errors": errors(problem, ann_y, vals),
        "source": ref.source,
        "combine_macs": combine_macs(sizes, ck.config.rank, ck.config.out_features),
        "model": model,
    }


def problem_info(ck, problem) -> tuple[dict, dict, str]:
    """The grid context, the problem's header fields for the Pareto page, and its note."""
    from benchmarks.pareto import PARETO_PROFILE
    from hardware.energy.profiles import get_profile

    g = grid_context(ck, problem)
    c = ck.config
    host, prof = g["combine_macs"], get_profile(PARETO_PROFILE)
    axis = "-".join(map(str, [1, *c.widths, c.rank * c.out_features]))
    n = int(g["points"].shape[0])
    info = {
        "ann_errors": g["ann_errors"],
        "reference": g["source"],
        "eval_points": n,
        "cal_points": 4096,
        "grid_points": n,
        "ann_widths": [1, *c.widths, c.rank * c.out_features],
    }
    note = (
        f"SPINN: {c.axes} axis networks {axis}, rank {c.rank}, deployed axis by axis and "
        f"evaluated on the whole {' x '.join(map(str, g['sizes']))} reference grid: per grid "
        "point, each axis network's cost x its evaluations per grid point "
        "(benchmarks/pareto_spinn.py); sigma-delta thresholds chosen axis after axis within "
        f"the budget. The host's rank-{c.rank} product-sum ({host:.4g} multiply-adds per "
        f"point: {host * prof.ann_mac / 1e3:.3g} nJ FP32, {host * prof.ann_int8_mac / 1e3:.3g} "
        f"nJ INT8 under {PARETO_PROFILE}) is the same for every row and the ANN and is in no "
        "column"
    )
    return g, info, note


def _deployed(ck, problem, g: dict, feats: list[torch.Tensor]) -> torch.Tensor:
    from benchmarks.pareto import finish
    from lava_pinn.models import combine_grid

    y = combine_grid(
        [f.reshape(n, ck.config.rank, -1) for f, n in zip(feats, g["sizes"], strict=True)]
    )
    return finish(ck, problem, g["points"], y.reshape(-1, ck.config.out_features))


def _cal_coords(ck, problem, n: int = 4096):
    from lava_pinn.conversion.convert import default_calibration_points

    return default_calibration_points(ck.problem, ck.problem_params, n, 1, 0.1).double()


def _combined_energy(g: dict, est_axes: list[dict]) -> dict:
    """Energy fields of a row per grid point from per-axis estimates (``{profile:
    EnergyEstimate}`` each, ``"_macs"``: the axis ANN's MACs). The host product-sum is the same
    for every row and for the ANN, so it is left out of these and reported beside them
    (``host_*``)."""
    from benchmarks.pareto import PARETO_PROFILE, PROFILES
    from hardware.energy.profiles import get_profile

    prof = get_profile(PARETO_PROFILE)
    w, c = g["weights"], g["combine_macs"]

    def mix(f) -> float:
        return float(sum(wi * f(e) for wi, e in zip(w, est_axes, strict=True)))

    snn = {p: mix(lambda e, p=p: e[p].snn_total_pj) for p in PROFILES}
    a32 = mix(lambda e: e[PARETO_PROFILE].ann_total_pj)
    a8 = mix(lambda e: e[PARETO_PROFILE].ann_int8_total_pj)
    return {
        "energy_pj": snn,
        "ann_fp32_pj": a32,
        "ann_int8_pj": a8,
        "snn_over_ann_fp32": snn[PARETO_PROFILE] / a32,
        "snn_over_ann_int8": snn[PARETO_PROFILE] / a8,
        "ann_macs": mix(lambda e: e["_macs"]),
        "host_macs": c,
        "host_fp32_pj": c * prof.ann_mac,
        "host_int8_pj": c * prof.ann_int8_mac,
    }


def axis_ann(ck):
    """The ANN of one axis network: ``1 -> widths -> rank * out``."""
    from hardware.activity import ANNSpec

    c = ck.config
    return ANNSpec((1, *c.widths, c.rank * c.out_features), c.activation)


def _resources(reps: list[dict]) -> dict:
    from hardware.resources import LOIHI2

    cores = sum(r["cores"] for r in reps)
    return {
        "fits": all(r["fits"] for r in reps),
        "cores": int(cores),
        "chips": max(1, math.ceil(cores / LOIHI2.cores_per_chip)),
    }


def _delta_fields(problem, g: dict, y: torch.Tensor, runs: list, inets: list) -> dict:
    """A sigma-delta row's error and counts per grid point from its axis runs."""
    from benchmarks.pareto import delta_resources, errors

    w = g["weights"]
    return {
        "errors": errors(problem, y, g["ref"]),
        "messages": sum(wi * r.messages_per_point() for wi, r in zip(w, runs, strict=True)),
        "synops_graded": sum(wi * r.synops_per_point() for wi, r in zip(w, runs, strict=True)),
        "synops_binary": 0.0,
        "neurons": int(sum(n.neurons for n in inets)),
        "synapses": int(sum(n.synapses for n in inets)),
        "resources": _resources([delta_resources(n) for n in inets]),
    }


def sigma_delta_row(ck, problem, g: dict, groups: int, budget: float) -> dict:
    """Each axis as ``sigma-delta`` with ``groups`` weight groups (module docstring)."""
    from benchmarks.pareto import PROFILES, _with_y, finish
    from exporters.sigma_delta import quantize_delta, run_static
    from exporters.sigma_delta.thresholds import (
        BudgetError,
        choose_thresholds,
        static_evaluator,
        with_thresholds,
    )
    from hardware.app.sigma_delta import threshold_points
    from hardware.delta import delta_ops, static_steps
    from hardware.energy.estimate import estimate_delta
    from lava_pinn.models import combine_pointwise
    from lava_pinn.sigma_delta import convert_sigma_delta

    d, rank = ck.config.axes, ck.config.rank
    spec = axis_ann(ck)
    row = {"representation": f"sigma-delta, {groups} weight group(s), 24-bit payload"}
    row.update(neuron="sigma-delta", T="static", kind="delta", weight_groups=groups, notes=[])
    t0 = time.perf_counter()
    xc = _cal_coords(ck, problem)
    if problem.has_exact:
        x_t = threshold_points(problem, 4096, 8).double()
        ref_t = problem.exact(x_t).double()
    else:  # grid points, as the MLP rows do without an exact solution
        idx = torch.randperm(len(g["points"]), generator=torch.Generator().manual_seed(8))
        x_t, ref_t = g["points"][idx[:4096]], g["ref"][idx[:4096]]
    model = g["model"]
    with torch.no_grad():
        float_t = [model.axis_features(i, x_t[:, i]) for i in range(d)]
    ann_t = finish(ck, problem, x_t, combine_pointwise(float_t))
    slack = (budget - 1.0) / 2
    out = ck.config.out_features
    inets, vths, deployed_t = [], [], list(float_t)
    for i in range(d):
        net = convert_sigma_delta(model.axis_nets[i], xc[:, i : i + 1], neuron="sigma-delta")
        inet = quantize_delta(net, weight_groups=groups, payload_bits=24)

        def run(n, x, i=i):
            r = run_static(n, x[:, i : i + 1])
            feats = list(deployed_t)
            feats[i] = r.y.reshape(-1, rank, out)
            return _with_y(r, finish(ck, problem, x, combine_pointwise(feats)))

        target = 1.0 + slack * (i + 1) / d
        try:
            ch = choose_thresholds(inet, static_evaluator(x_t, ann_t, ref_t, run), target)
            inet, vth = ch.net, list(ch.vth)
        except BudgetError as err:
            row["notes"].append(
                f"axis {i}: no thresholds meet {target:.3g} x the ANN's error (best "
                f"{err.best:.3g} at threshold 1); threshold 1 everywhere"
            )
            vth = [1] * len(inet.layers)
            inet = with_thresholds(inet, vth)
        deployed_t[i] = run_static(inet, x_t[:, i : i + 1]).y.reshape(-1, rank, out)
        inets.append(inet)
        vths.append(vth)
    runs = [run_static(n, a[:, None]) for n, a in zip(inets, g["axes"], strict=True)]
    y = _deployed(ck, problem, g, [r.y for r in runs])
    est = []
    for n, r in zip(inets, runs, strict=True):
        ops = delta_ops(n, r, steps=static_steps(n))
        est.append({p: estimate_delta(ops, spec, p) for p in PROFILES} | {"_macs": spec.macs})
    row.update(
        _delta_fields(problem, g, y, runs, inets),
        loihi_native=False,
        vth=vths,
        seconds=time.perf_counter() - t0,
    )
    return {**row, **_combined_energy(g, est)}


def sigma_delta_relu_row(ck, problem, g: dict) -> dict:
    """Each axis as ``sigma-delta-relu`` through the netx export (module docstring)."""
    from benchmarks.pareto import PROFILES, RELU_PIECES
    from exporters.sigma_delta import quantize_relu, run_pipeline
    from hardware.delta import delta_ops
    from hardware.energy.estimate import estimate_delta
    from lava_pinn.sigma_delta import convert_sigma_delta

    spec = axis_ann(ck)
    neuron = "sigma-delta-relu"
    pieces = None if ck.config.activation == "relu" else RELU_PIECES
    row = {"representation": f"{neuron}, {RELU_PIECES} pieces, netx (8-bit, 16-bit payload)"}
    row.update(neuron=neuron, T="static", kind="delta", weight_groups=1)
    t0 = time.perf_counter()
    xc = _cal_coords(ck, problem)
    inets, runs, est = [], [], []
    for i, a in enumerate(g["axes"]):
        x_i = xc[:, i : i + 1]
        net = convert_sigma_delta(g["model"].axis_nets[i], x_i, neuron=neuron, pieces=pieces)
        inet = quantize_relu(net, x_i)
        r = run_pipeline(inet, a[None, :, None])
        ops = delta_ops(inet, r, steps=r.steps)
        est.append({p: estimate_delta(ops, spec, p) for p in PROFILES} | {"_macs": spec.macs})
        inets.append(inet)
        runs.append(r)
    y = _deployed(ck, problem, g, [r.y[0] for r in runs])
    row.update(
        _delta_fields(problem, g, y, runs, inets),
        loihi_native=True,
        seconds=time.perf_counter() - t0,
        notes=["biases on the constant bus: one message per neuron at most, threshold 1"],
    )
    return {**row, **_combined_energy(g, est)}


def rate_row(ck, problem, g: dict, method: str, T: int, opts: dict) -> dict:
    """A rate-coded SPINN: ``lava_pinn.convert`` axis by axis, each axis quantized and run on
    the integer twin as an MLP row is (``benchmarks/pareto.py``'s ``rate_row``)."""
    import hardware
    import lava_pinn
    from benchmarks.export import quantize_net
    from benchmarks.pareto import PROFILES, errors, rate_setup
    from hardware.costing import energy_report
    from hardware.resources import LoihiResourceWarning
    from hardware.runner import LoadedNetwork, resource_check
    from lava_pinn.neurons import get_neuron

    m, row, x_cal, kw, reads = rate_setup(ck, method, T, opts)
    spec = axis_ann(ck)
    t0 = time.perf_counter()
    runs, est, res, inets = [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = lava_pinn.convert(
            ck, x_cal, T=T, neuron=m.neuron, calibration=m.calibration, representation=m.base, **kw
        )
        qargs = SimpleNamespace(weight_groups=1, quant_search=opts["quant_search"])
        for i, (net_i, a) in enumerate(zip(snn.axis_nets, g["axes"], strict=True)):
            inet, _, _, _ = quantize_net(net_i, x_cal[:, i : i + 1], qargs)
            label = f"{ck.problem} axis {i} {method} T={T}"
            loaded = LoadedNetwork(inet, net_i, label, dict(net_i.metadata))
            r = hardware.run(
                loaded, a.numpy()[:, None], backend="torch-twin", check_resources=False
            )
            warnings.simplefilter("ignore", LoihiResourceWarning)
            rc = resource_check(inet)
            rep = energy_report(r, ann=spec, profiles=PROFILES)
            est.append({p: rep.estimate_for(p) for p in PROFILES} | {"_macs": spec.macs})
            res.append({"fits": bool(rc.fits), "cores": int(rc.cores), "chips": int(rc.chips)})
            ops = rep.ops
            runs.append(
                (
                    float(sum(float(e.sum()) for e in r.events)) / r.n_points,
                    float(ops.total("effective_macs")),
                    float(ops.total("effective_acs")),
                    torch.as_tensor(np.asarray(r.y), dtype=torch.float64),
                )
            )
            inets.append(inet)
    y = _deployed(ck, problem, g, [r[3] for r in runs])
    w = g["weights"]
    row.update(
        errors=errors(problem, y, g["ref"]),
        messages=sum(wi * r[0] for wi, r in zip(w, runs, strict=True)),
        synops_graded=sum(wi * r[1] for wi, r in zip(w, runs, strict=True)),
        synops_binary=sum(wi * r[2] for wi, r in zip(w, runs, strict=True)),
        neurons=int(sum(sum(la.n_out for la in n.hidden) for n in inets)),
        synapses=int(
            sum(
                np.count_nonzero(wt)
                for n in inets
                for la in (*n.hidden[1:], n.readout)
                for wt, _ in la.groups
            )
        ),
        loihi_native=bool(get_neuron(m.neuron).loihi_native),
        resources=_resources(res),
        seconds=time.perf_counter() - t0,
    )
    if opts.get("calibration_steps") and "calibration_steps" in reads:
        row["notes"].append(f"calibration_steps={opts['calibration_steps']} (reduced)")
    return {**row, **_combined_energy(g, est)}
