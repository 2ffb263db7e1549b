"""Error vs energy per inference, every pretrained zoo problem x every representation, deployed.

    .venv/bin/python benchmarks/pareto.py --fast          # T = 64, light calibration budget
    .venv/bin/python benchmarks/pareto.py                 # T = 16 32 64 128, full calibration
    .venv/bin/python benchmarks/pareto.py --problems poisson-2d --no-rate --no-write

Rows per problem (pretrained checkpoint, ``lava_pinn/pretrained``):

* ``sigma-delta``: :func:`lava_pinn.sigma_delta.convert_sigma_delta`, quantized with
  :func:`exporters.sigma_delta.quantize_delta` (24-bit payloads, 2 and 1 weight groups),
  thresholds from :func:`exporters.sigma_delta.thresholds.choose_thresholds` (error / ANN error
  <= ``--budget`` on separate calibration points of the reference grid), run on the integer twin
  (:func:`exporters.sigma_delta.run_static`) and priced with
  :func:`hardware.energy.estimate_delta`.
* ``sigma-delta-relu``: ``neuron="sigma-delta-relu"`` (24 ReLU pieces + a relay per unit),
  quantized for netx with :func:`exporters.sigma_delta.quantize_relu` (its defaults: biases
  on the constant bus, layers refitted) and run on the netx twin
  (:func:`exporters.sigma_delta.run_pipeline`); thresholds one message unit.
* rate-coded (``direct/if/advanced``, ``pwl/if/advanced``, ``pwl:24:0.75/graded-if/none``,
  ``direct/lif-hard/light``): converted with ``lava_pinn.convert``, quantized with
  ``benchmarks/export.py``'s :func:`~benchmarks.export.quantize_net`, run on the integer twin
  (``hardware.run(..., backend="torch-twin")``) and priced with
  ``benchmarks/energy.py``'s path (:func:`hardware.costing.energy_report`).

A separable PINN (SPINN) gets the same rows axis by axis, each axis network deployed as an MLP
and the costs taken per point of the whole tensor reference grid
(``benchmarks/pareto_spinn.py``).

Errors are relative L2 per output field against the problem's reference (exact solution, or
the Cole-Hopf solution for Burgers; pressure gauge removed where the problem has one) on a
seeded subset of the reference grid; calibration points are a disjoint subset of that grid.
Writes ``docs/results/pareto.md``, ``pareto.json`` and ``figures/pareto_<problem>.png/.pdf``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.energy import rel_l2  # noqa: E402
from benchmarks.pareto_report import (  # noqa: E402, F401  (table, markdown: the page)
    PARETO_PROFILE,
    PROFILES,
    markdown,
    plot,
    table,
)

RESULTS = REPO / "docs" / "results"
RATE_METHODS = (
    "direct/if/advanced",
    "pwl/if/advanced",
    "pwl:24:0.75/graded-if/none",
    "direct/lif-hard/light",
)
T_FULL = (16, 32, 64, 128)
T_FAST = (64,)
EVAL_POINTS = 4096
NS_EVAL_POINTS = 20000
CAL_POINTS = 1024
FAST = {"cal_points": 256, "calibration_steps": 30, "quant_search": "off"}


# ------------------------------------------------------------------------------ points
def eval_data(problem, n_eval: int, n_cal: int, seed: int = 0) -> dict:
    """Disjoint seeded subsets of the reference grid: evaluation and calibration points."""
    ref = problem.reference()
    n = ref.points.shape[0]
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = min(n_eval, n - min(n_cal, n // 4))
    ev, cal = idx[:k], idx[k : k + n_cal]
    return {
        "x": ref.points[ev].double(),
        "ref": ref.values[ev].double(),
        "x_cal": ref.points[cal].double(),
        "ref_cal": ref.values[cal].double(),
        "source": ref.source,
        "grid_points": int(n),
    }


def finish(ck, problem, x: torch.Tensor, y) -> torch.Tensor:
    """Raw network outputs -> the solution (the hard-BC transform where the model has one)."""
    y = torch.as_tensor(np.asarray(y), dtype=torch.float64)
    return problem.apply_hard_bc(x, y) if ck.hard_bc else y


def errors(problem, y: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    return rel_l2(y.numpy(), ref.numpy(), problem.outputs, problem.gauge_fields)


# ------------------------------------------------------------------------------ sigma-delta
def delta_resources(inet) -> dict:
    """Loihi 2 fit of a deployed sigma-delta network: 8-bit Dense weights on the union of the
    groups' nonzeros (a second group is a second Dense process; its synapses are not added)."""
    from hardware.resources import LoihiResourceWarning, check_network

    syns = [la.synapses for la in inet.layers] + [inet.output]
    ws = [np.any([w != 0 for w, _ in s.groups], axis=0).astype(np.int64) for s in syns]
    neurons = [la.neuron for la in inet.layers] + ["output"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoihiResourceWarning)
        rep = check_network(ws, 8, neurons, analog_input=False)
    return {"fits": bool(rep.fits), "cores": int(rep.cores), "chips": int(rep.chips)}


def ann_spec(ck):
    from hardware.activity import ANNSpec
    from lava_pinn.conversion.convert import parse_mlp

    hidden, last = parse_mlp(ck.model)
    widths = (hidden[0].weight.shape[1], *(la.weight.shape[0] for la in hidden), last.out_features)
    return ANNSpec(tuple(int(w) for w in widths), hidden[0].activation or "tanh")


def sigma_delta_row(ck, problem, ev: dict, groups: int, budget: float, neuron: str) -> dict:
    """One deployed sigma-delta row (see the module docstring)."""
    from exporters.sigma_delta import quantize_delta, run_static
    from hardware.energy.estimate import estimate_delta
    from lava_pinn.neurons import get_neuron
    from lava_pinn.sigma_delta import convert_sigma_delta
    from lava_pinn.training import predict

    row = {"representation": f"{neuron}, {groups} weight group(s), 24-bit payload"}
    row.update(neuron=neuron, T="static", kind="delta", weight_groups=groups)
    t0 = time.perf_counter()
    x_cal, ref_cal = ev["x_cal"], ev["ref_cal"]
    if problem.has_exact:  # as lava-pinn sigma-delta: 4,096 domain points, a tenth on the boundary
        from lava_pinn.conversion.convert import default_calibration_points

        x_cal = default_calibration_points(ck.problem, ck.problem_params, 4096, 1, 0.1)
        ref_cal = problem.exact(x_cal)
    net = convert_sigma_delta(ck, x_cal, neuron=neuron)
    inet = quantize_delta(net, weight_groups=groups, payload_bits=24)
    ann_cal = finish(ck, problem, x_cal, predict(ck.model, problem, x_cal, False))
    notes = []
    try:
        from exporters.sigma_delta.thresholds import BudgetError, choose_thresholds
        from exporters.sigma_delta.thresholds import static_evaluator as _evaluator

        def run(n, x):  # the evaluator scores the solution (hard BC applied)
            r = run_static(n, x)
            return _with_y(r, finish(ck, problem, x, r.y))

        try:
            # half the budget's slack, on uniform domain points where the problem has an exact
            # solution, as lava-pinn sigma-delta does
            x_t, ref_t, ann_t = x_cal, ref_cal, ann_cal
            if problem.has_exact:
                from hardware.app.sigma_delta import threshold_points

                x_t = threshold_points(problem, 4096, 8)
                ref_t = problem.exact(x_t)
                ann_t = finish(ck, problem, x_t, predict(ck.model, problem, x_t, False))
            target = 1.0 + (budget - 1.0) / 2
            ch = choose_thresholds(inet, _evaluator(x_t, ann_t, ref_t, run), target)
            inet, row["vth"] = ch.net, list(ch.vth)
        except BudgetError as err:
            notes.append(
                f"no thresholds meet the budget {budget:g} x ANN error (best {err.best:.3g} at "
                "threshold 1); threshold 1 everywhere"
            )
            from exporters.sigma_delta.thresholds import with_thresholds

            inet = with_thresholds(inet, [1] * len(inet.layers))
            row["vth"] = [1] * len(inet.layers)
    except ImportError:
        notes.append("exporters.sigma_delta.thresholds missing: conversion thresholds kept")
    r = run_static(inet, ev["x"])
    y = finish(ck, problem, ev["x"], r.y)
    from hardware.delta import delta_ops, static_steps

    ops = delta_ops(inet, r, steps=static_steps(inet))  # each weight group priced as a Dense
    ann = ann_spec(ck)
    est = {p: estimate_delta(ops, ann, p) for p in PROFILES}
    row.update(
        errors=errors(problem, y, ev["ref"]),
        messages=r.messages_per_point(),
        synops_graded=r.synops_per_point(),
        synops_binary=0.0,
        neurons=int(inet.neurons),
        synapses=int(inet.synapses),
        loihi_native=bool(get_neuron(neuron).loihi_native),
        resources=delta_resources(inet),
        seconds=time.perf_counter() - t0,
        notes=notes,
    )
    return {**row, **_energy_fields(est, ann.macs)}


def _with_y(r, y):
    import dataclasses

    return dataclasses.replace(r, y=y)


def _energy_fields(est: dict, macs: int) -> dict:
    e45 = est[PARETO_PROFILE]
    return {
        "energy_pj": {p: float(e.snn_total_pj) for p, e in est.items()},
        "ann_fp32_pj": float(e45.ann_total_pj),
        "ann_int8_pj": float(e45.ann_int8_total_pj),
        "snn_over_ann_fp32": float(e45.snn_over_ann),
        "snn_over_ann_int8": float(e45.snn_over_ann_int8),
        "ann_macs": int(macs),
    }


RELU_PIECES = 24  # ReLU pieces per unit of a non-ReLU activation (sigma-delta-relu rows)


def sigma_delta_relu_row(ck, problem, ev: dict, budget: float) -> dict:
    """``sigma-delta-relu`` (Lava's ReLU ``SigmaDelta``, :data:`RELU_PIECES` pieces + a relay per
    unit): quantized for netx (:func:`exporters.sigma_delta.quantize_relu`), run on the netx
    twin (:func:`exporters.sigma_delta.run_pipeline`: netx's zero start, each point held until
    settled, every message counted); biases on the constant bus, so each neuron sends once per
    point and thresholds are one message unit (no budget search for this neuron)."""
    from exporters.sigma_delta import quantize_relu, run_pipeline
    from hardware.delta import delta_ops
    from hardware.energy.estimate import estimate_delta
    from lava_pinn.sigma_delta import convert_sigma_delta

    del budget  # thresholds are not chosen against the budget for this neuron yet
    neuron = "sigma-delta-relu"
    row = {"representation": f"{neuron}, {RELU_PIECES} pieces, netx (8-bit, 16-bit payload)"}
    row.update(neuron=neuron, T="static", kind="delta", weight_groups=1)
    t0 = time.perf_counter()
    x_cal = ev["x_cal"]
    if problem.has_exact:
        from lava_pinn.conversion.convert import default_calibration_points

        x_cal = default_calibration_points(ck.problem, ck.problem_params, 4096, 1, 0.1)
    pieces = None if _relu_mlp(ck) else RELU_PIECES
    net = convert_sigma_delta(ck, x_cal, neuron=neuron, pieces=pieces)
    inet = quantize_relu(net, x_cal)
    r = run_pipeline(inet, ev["x"][None])
    y = finish(ck, problem, ev["x"], r.y[0])
    ops = delta_ops(inet, r, steps=r.steps)
    ann = ann_spec(ck)
    est = {p: estimate_delta(ops, ann, p) for p in PROFILES}
    row.update(
        errors=errors(problem, y, ev["ref"]),
        messages=r.messages_per_point(),
        synops_graded=r.synops_per_point(),
        synops_binary=0.0,
        neurons=int(inet.neurons),
        synapses=int(inet.synapses),
        loihi_native=True,
        resources=delta_resources(inet),
        seconds=time.perf_counter() - t0,
        notes=["biases on the constant bus: one message per neuron at most, threshold 1"],
    )
    return {**row, **_energy_fields(est, ann.macs)}


def _relu_mlp(ck) -> bool:
    from lava_pinn.conversion.convert import parse_mlp

    hidden, _ = parse_mlp(ck.model)
    return all(la.activation == "relu" for la in hidden)


# ------------------------------------------------------------------------------ rate-coded
def rate_setup(ck, method: str, T: int, opts: dict):
    """``(method, row head, calibration points, convert keywords, what the calibration
    reads)`` of a rate-coded row (``opts``: ``cal_points``, ``calibration_steps``)."""
    from benchmarks.conversion import Method
    from lava_pinn.conversion.calibration import CALIBRATIONS
    from lava_pinn.conversion.convert import default_calibration_points

    m = Method.parse(method)
    row = {"representation": method, "neuron": m.neuron, "T": T, "kind": "rate", "notes": []}
    x_cal = default_calibration_points(
        ck.problem, ck.problem_params, opts["cal_points"], seed=0, boundary=0.0
    )
    kw = dict(m.options)
    reads = dict(CALIBRATIONS.get(m.calibration).options)
    if opts.get("calibration_steps") and "calibration_steps" in reads:
        kw["calibration_steps"] = opts["calibration_steps"]
    return m, row, x_cal, kw, reads


def rate_row(ck, problem, ev: dict, method: str, T: int, opts: dict) -> dict:
    """One rate-coded row: convert, quantize (``benchmarks/export.py``), integer twin, price
    (``benchmarks/energy.py``'s path)."""
    import hardware
    import lava_pinn
    from benchmarks.export import quantize_net
    from hardware.costing import energy_report
    from hardware.resources import LoihiResourceWarning
    from hardware.runner import LoadedNetwork, resource_check
    from lava_pinn.neurons import get_neuron

    m, row, x_cal, kw, reads = rate_setup(ck, method, T, opts)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = lava_pinn.convert(
            ck, x_cal, T=T, neuron=m.neuron, calibration=m.calibration, representation=m.base, **kw
        )
        qargs = SimpleNamespace(weight_groups=1, quant_search=opts["quant_search"])
        inet, _, _, _ = quantize_net(snn, x_cal, qargs)
        net = LoadedNetwork(inet, snn, f"{ck.problem} {method} T={T}", dict(snn.metadata))
        r = hardware.run(net, ev["x"].numpy(), backend="torch-twin", check_resources=False)
        warnings.simplefilter("ignore", LoihiResourceWarning)
        res = resource_check(inet)
    y = finish(ck, problem, ev["x"], r.y)
    errs = errors(problem, y, ev["ref"])
    rep = energy_report(r, errors=errs, profiles=PROFILES)
    est = {p: rep.estimate_for(p) for p in PROFILES}
    ops = rep.ops
    row.update(
        errors=errs,
        messages=float(sum(float(e.sum()) for e in r.events)) / r.n_points,
        synops_graded=float(ops.total("effective_macs")),
        synops_binary=float(ops.total("effective_acs")),
        # counted as benchmarks/energy.py counts them (the host-side first layer excluded)
        neurons=int(sum(la.n_out for la in inet.hidden)),
        synapses=int(
            sum(
                np.count_nonzero(w) for la in (*inet.hidden[1:], inet.readout) for w, _ in la.groups
            )
        ),
        loihi_native=bool(get_neuron(m.neuron).loihi_native),
        resources={"fits": bool(res.fits), "cores": int(res.cores), "chips": int(res.chips)},
        seconds=time.perf_counter() - t0,
    )
    if opts.get("calibration_steps") and "calibration_steps" in reads:
        row["notes"].append(f"calibration_steps={opts['calibration_steps']} (reduced)")
    return {**row, **_energy_fields(est, rep.ann.macs)}


# ------------------------------------------------------------------------------ table
def pareto_front(rows: list[dict]) -> list[bool]:
    """Per row: on the front of (worst-field error, cmos-45nm energy), both minimised."""
    pts = [
        (max(r["errors"].values()), r["energy_pj"][PARETO_PROFILE]) if r.get("errors") else None
        for r in rows
    ]
    out = []
    for i, p in enumerate(pts):
        if p is None:
            out.append(False)
            continue
        dom = any(
            q is not None and q[0] <= p[0] and q[1] <= p[1] and q != p
            for j, q in enumerate(pts)
            if j != i
        )
        out.append(not dom)
    return out


def problem_rows(name: str, args) -> dict:
    """Every row of one problem (a failing row is recorded with its error)."""
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.problems import get_problem
    from lava_pinn.training import predict

    ck = load_pretrained(name)
    problem = get_problem(ck.problem, **ck.problem_params)
    n_eval = args.ns_points if name == "navier-stokes-tg" else args.points
    out = {"problem": name, "rows": [], "notes": []}
    spinn = ck.config.kind == "spinn"
    if spinn:  # every point of the tensor grid: the axis networks run once per coordinate
        from benchmarks.pareto_spinn import problem_info

        ev, info, note = problem_info(ck, problem)
        out["notes"].append(note)
        out.update(info)
    else:
        ev = eval_data(problem, n_eval, args.cal_points_sd, seed=args.seed)
        ann_y = finish(ck, problem, ev["x"], predict(ck.model, problem, ev["x"], False))
        out.update(
            ann_errors=errors(problem, ann_y, ev["ref"]),
            reference=ev["source"],
            eval_points=int(ev["x"].shape[0]),
            cal_points=int(ev["x_cal"].shape[0]),
            grid_points=ev["grid_points"],
            ann_widths=list(ann_spec(ck).widths),
        )
    jobs = [("sd", g) for g in (2, 1)] + [("sd-relu", None)]
    if not args.no_rate:
        jobs += [("rate", (m, T)) for m in args.methods for T in args.T]
    for kind, what in jobs:
        try:
            if spinn:
                row = _spinn_row(kind, what, ck, problem, ev, args)
            elif kind == "sd":
                row = sigma_delta_row(ck, problem, ev, what, args.budget, "sigma-delta")
            elif kind == "sd-relu":
                row = sigma_delta_relu_row(ck, problem, ev, args.budget)
            else:
                row = rate_row(ck, problem, ev, what[0], what[1], args.rate_opts)
            row.setdefault("status", "ok")
        except Exception as err:  # a failing row is a result too
            label = {"sd": "sigma-delta", "sd-relu": "sigma-delta-relu"}.get(kind, what and what[0])
            row = {"representation": label, "status": "error", "notes": [f"{err!r}"[:300]]}
            row["T"] = what[1] if kind == "rate" else "static"
        if row.get("errors"):
            a = out["ann_errors"]
            row["error_over_ann"] = {k: v / max(a[k], 1e-30) for k, v in row["errors"].items()}
            ops = row["synops_graded"] + row["synops_binary"]
            row["ops_over_ann_macs"] = ops / row["ann_macs"]
        out["rows"].append(row)
        if args.log:
            args.log(f"  {name}: {_summary(row)}")
    for r, f in zip(out["rows"], pareto_front(out["rows"]), strict=True):
        r["pareto"] = f
    return out


def _spinn_row(kind: str, what, ck, problem, g: dict, args) -> dict:
    from benchmarks import pareto_spinn as ps

    if kind == "sd":
        return ps.sigma_delta_row(ck, problem, g, what, args.budget)
    if kind == "sd-relu":
        return ps.sigma_delta_relu_row(ck, problem, g)
    return ps.rate_row(ck, problem, g, what[0], what[1], args.rate_opts)


def _summary(r: dict) -> str:
    if not r.get("errors"):
        return f"{r['representation']} T={r.get('T')}: {r.get('status')} {r.get('notes')}"
    e = max(r["errors"].values())
    return (
        f"{r['representation']} T={r['T']}: err {100 * e:.3g}%, "
        f"{r['energy_pj'][PARETO_PROFILE] / 1e3:.4g} nJ ({r.get('seconds', 0):.0f} s)"
    )


# ------------------------------------------------------------------------------ main
def parse_args(argv: list[str]):
    from lava_pinn.problems import ZOO

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problems", nargs="+", default=list(ZOO))
    p.add_argument("--methods", nargs="+", default=list(RATE_METHODS))
    p.add_argument("--T", type=int, nargs="+", default=None)
    p.add_argument("--fast", action="store_true", help="T = 64; " + str(FAST))
    p.add_argument("--no-rate", action="store_true", help="sigma-delta rows only")
    p.add_argument("--points", type=int, default=EVAL_POINTS)
    p.add_argument("--ns-points", type=int, default=NS_EVAL_POINTS)
    p.add_argument("--cal-points-sd", type=int, default=CAL_POINTS)
    p.add_argument("--budget", type=float, default=1.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    if args.T is None:
        args.T = list(T_FAST if args.fast else T_FULL)
    full = {"cal_points": 1024, "calibration_steps": None, "quant_search": "on"}
    args.rate_opts = dict(FAST) if args.fast else full
    return args


def run(args) -> dict:
    """Every problem's rows, with the ANN baselines; pure but for ``args.log``."""
    probs = []
    for name in args.problems:
        res = problem_rows(name, args)
        ok = [r for r in res["rows"] if r.get("errors")]
        if ok:
            res["ann_fp32_pj"] = ok[0]["ann_fp32_pj"]
            res["ann_int8_pj"] = ok[0]["ann_int8_pj"]
            res["ann_macs"] = ok[0]["ann_macs"]
        probs.append(res)
    return {"problems": probs}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.log = lambda s: print(s, flush=True)
    command = ".venv/bin/python benchmarks/pareto.py " + " ".join(argv)
    t0 = time.perf_counter()
    data = run(args)
    red = []
    if args.fast:
        red.append(
            f"rate-coded rows at T = {', '.join(map(str, args.T))} only, {FAST['cal_points']} "
            f"calibration points, {FAST['calibration_steps']} calibration steps (default 300), "
            "quantizer search and readout refit off"
        )
    data.update(
        command=command,
        date=f"{datetime.now(timezone.utc):%Y-%m-%d}",
        mode=f"{'fast' if args.fast else 'full'} run, {time.perf_counter() - t0:.0f} s wall "
        "on a shared 2-core CPU",
        budget=args.budget,
        reductions="; ".join(red),
        profiles=list(PROFILES),
    )
    for res in data["problems"]:
        if not args.no_write and res.get("rows"):
            fig = plot(res, args.out / "figures")
            res["figure"] = str(fig.relative_to(args.out)) if fig else None
        print(f"\n## {res['problem']}\n")
        print(table(res) if "ann_errors" in res else "\n".join(res["notes"]))
    if not args.no_write:
        from lava_pinn.checkpoint import atomic_write_bytes

        js = json.dumps(data, indent=1, default=_json) + "\n"
        atomic_write_bytes(args.out / "pareto.json", js.encode())
        atomic_write_bytes(args.out / "pareto.md", markdown(data).encode())
        print(f"wrote {args.out / 'pareto.md'}, pareto.json, figures/pareto_*.png/.pdf")
    print(f"command: {command}")
    return 0 if all(r.get("status") != "error" for p in data["problems"] for r in p["rows"]) else 1


def _json(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
