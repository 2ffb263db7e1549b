"""Navier-Stokes as ``sigma-delta-relu`` (Lava's ReLU ``SigmaDelta``, Loihi 2 without microcode),
deployed through netx: error and cost over pieces per unit and export options.

For each configuration (``K`` ReLU pieces per unit and :func:`exporters.sigma_delta.quantize_relu`
options: ``bus`` (biases as weights on constant inputs, one wave per point), ``refit`` (each
layer refitted from what the integer layers before it send), ``lo_copies`` / ``hilo`` (the
second 8-bit rows of relay and selector weights)): the float piecewise network (``f~``, no
quantization), the integers with exact messages, and the deployed integers on the netx twin
(:func:`exporters.sigma_delta.run_pipeline`: netx's zero start, each point held until
settled, every message counted): u, v, p errors vs exact and vs the ANN, messages and synaptic
ops per point against the ANN's MACs, neurons, synapses, the Loihi 2 resource check.
``--netx N``: the first configuration's ``.net`` file run in lava-dl netx on ``N`` of the
points, compared ``==`` with the twin. Writes docs/results/sigma_delta_relu.md and .json.

    .venv/bin/python benchmarks/sigma_delta_relu.py [--points 1024] [--netx 16]
        [--headline-points 20000] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ANN_MACS = 20864
# (label, pieces, quantize_relu options)
CONFIGS = (
    ("K=24, bus, refit (default export)", 24, {}),
    ("K=16, bus, refit", 16, {}),
    ("K=32, bus, refit", 32, {}),
    ("K=24, biased neurons, refit", 24, {"bus": False}),
    ("K=24, bus, refit, 8-bit rows everywhere", 24, {"lo_copies": False, "hilo": False}),
    ("K=16, biased, no refit (the previous export)", 16, {"bus": False, "refit": False}),
)


def _err(y: torch.Tensor, ref: torch.Tensor) -> list[float]:
    return [float((y[:, i] - ref[:, i]).norm() / ref[:, i].norm()) for i in range(ref.shape[1])]


def real_arithmetic(inet, x: torch.Tensor) -> torch.Tensor:
    """The deployed integers' settled outputs in real arithmetic: the same 8-bit weights,
    biases and scales, but every message the exact ``act / 2**state_exp`` (no thresholds, no
    bits dropped by ``>> state_exp``). Separates the error of the weights from that of the
    messages."""
    m = inet.encode(x).to(torch.float64) * 2.0 ** (inet.layers[0].spike_exp)
    for la in inet.layers:
        a = sum(
            (m @ torch.tensor(w, dtype=torch.float64).T) * 2.0**e for w, e in la.synapses.groups
        )
        act = (a + torch.tensor(la.bias, dtype=torch.float64)).clamp(min=0)
        m = act / 2.0**la.state_exp
    acc = sum((m @ torch.tensor(w, dtype=torch.float64).T) * 2.0**e for w, e in inet.output.groups)
    return inet.decode(acc)


def measure(ck, xc, x, ex, ann, label, pieces, opts) -> dict:
    """One configuration's row (see the module docstring)."""
    from exporters.sigma_delta import quantize_relu, run_pipeline
    from hardware.delta import delta_resources
    from lava_pinn.sigma_delta import convert_sigma_delta

    t0 = time.monotonic()
    net = convert_sigma_delta(ck, xc, neuron="sigma-delta-relu", pieces=pieces)
    with torch.no_grad():
        y_float = net.ann(x)
    inet = quantize_relu(net, xc, **opts)
    # the weights alone: the same quantization without the biases' correction for what the
    # messages lose (transmission_fix, biased neurons only), in real arithmetic
    y_weights = real_arithmetic(quantize_relu(net, xc, **opts, settle_fix=False), x)
    r = run_pipeline(inet, x[None])
    y = r.y[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = delta_resources(inet)
    e_ann = _err(ann, ex)
    e = _err(y, ex)
    return {
        "config": label,
        "pieces": pieces,
        "options": opts,
        "float_errors": dict(zip("uvp", _err(y_float, ex), strict=True)),
        "real_arithmetic_errors": dict(zip("uvp", _err(y_weights, ex), strict=True)),
        "errors": dict(zip("uvp", e, strict=True)),
        "over_ann": dict(zip("uvp", [a / b for a, b in zip(e, e_ann, strict=True)], strict=True)),
        "vs_ann": dict(zip("uvp", _err(y, ann), strict=True)),
        "messages_per_point": r.messages_per_point(),
        "synops_per_point": r.synops_per_point(),
        "synops_over_macs": r.synops_per_point() / ANN_MACS,
        "most_messages_per_neuron": max(int(m.max()) for m in r.messages[1:]),
        "neurons": int(inet.neurons + inet.readout_rows),
        "synapses": int(inet.synapses),
        "layers": len(inet.layers),
        "steps_per_point": int(r.steps),
        "fits_one_chip": bool(rep.fits and rep.chips == 1),
        "cores": int(rep.cores),
        "microcode": list(rep.requirements),
        "seconds": time.monotonic() - t0,
        "_inet": inet,
    }


def main(argv: list[str] | None = None) -> int:
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points
    from lava_pinn.conversion.options import ConvertOptions
    from lava_pinn.problems import get_problem

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1024, help="evaluation points (domain)")
    ap.add_argument("--cal-points", type=int, default=0, help="default: convert's (1,024)")
    ap.add_argument("--netx", type=int, default=0, help="points run in lava-dl netx (== twin)")
    ap.add_argument(
        "--headline-points", type=int, default=0, help="the first configuration on N more points"
    )
    ap.add_argument("--configs", type=int, nargs="*", help="indices into CONFIGS (default all)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    ck = load_pretrained("navier-stokes-tg")
    prob = get_problem(ck.problem, **ck.problem_params)
    d = ConvertOptions  # the calibration points convert_sigma_delta(ck) uses by default
    n_cal = args.cal_points or d.calibration_points
    xc = default_calibration_points(
        ck.problem, ck.problem_params, n_cal, d.seed, d.calibration_boundary
    )
    x = prob.domain.sample(args.points, torch.Generator().manual_seed(7)).double()
    ex = prob.exact(x).double()
    with torch.no_grad():
        ann = ck.model.double()(x)
    e_ann = _err(ann, ex)
    args.n_cal = int(xc.shape[0])
    todo = [CONFIGS[i] for i in args.configs] if args.configs else list(CONFIGS)
    rows = []
    for label, pieces, opts in todo:
        rows.append(measure(ck, xc, x, ex, ann, label, pieces, opts))
        print({k: v for k, v in rows[-1].items() if k != "_inet"}, flush=True)
    head = None
    if args.headline_points:
        head = headline(rows[0]["_inet"], ck, prob, args.headline_points)
        print(head, flush=True)
    netx = None
    if args.netx:
        netx = check_netx(rows[0]["_inet"], x[: args.netx])
        print(netx, flush=True)
    md = report(rows, e_ann, args, netx, argv, head)
    print(md)
    if not args.no_write:
        out = ROOT / "docs" / "results"
        (out / "sigma_delta_relu.md").write_text(md)
        data = {
            "ann_errors": dict(zip("uvp", e_ann, strict=True)),
            "points": args.points,
            "rows": [{k: v for k, v in r.items() if k != "_inet"} for r in rows],
            "netx": netx,
            "headline": head,
            "command": _command(argv),
        }
        (out / "sigma_delta_relu.json").write_text(json.dumps(data, indent=1))
    return 0


def headline(inet, ck, prob, n: int, chunk: int = 1024) -> dict:
    """The deployed integers ``inet`` on ``n`` more domain points (seed 8) on the netx twin, in
    chunks of ``chunk`` lanes: u, v, p vs exact and over the ANN's, synaptic ops and messages
    per point."""
    from exporters.sigma_delta import run_pipeline

    t0 = time.monotonic()
    x = prob.domain.sample(n, torch.Generator().manual_seed(8)).double()
    ex = prob.exact(x).double()
    with torch.no_grad():
        ann = ck.model.double()(x)
    ys, syn, msg = [], 0.0, 0.0
    for lo in range(0, n, chunk):
        r = run_pipeline(inet, x[lo : lo + chunk][None])
        ys.append(r.y[0])
        k = min(chunk, n - lo)
        syn += r.synops_per_point() * k
        msg += r.messages_per_point() * k
    y = torch.cat(ys)
    e, ea = _err(y, ex), _err(ann, ex)
    return {
        "points": n,
        "errors": dict(zip("uvp", e, strict=True)),
        "ann_errors": dict(zip("uvp", ea, strict=True)),
        "over_ann": dict(zip("uvp", [a / b for a, b in zip(e, ea, strict=True)], strict=True)),
        "synops_per_point": syn / n,
        "synops_over_macs": syn / n / ANN_MACS,
        "messages_per_point": msg / n,
        "seconds": time.monotonic() - t0,
    }


def check_netx(inet, x: torch.Tensor) -> dict:
    """Write ``inet`` as a netx file, run it in lava-dl netx on ``x`` (points one after another,
    each held until settled) and compare with the twin on the same sequence (``==``)."""
    from exporters.sigma_delta import export_sdnn, run_netx, run_pipeline

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        path = export_sdnn(inet, Path(d) / "ns_relu.net")
        a = run_netx(path, x)
    b = run_pipeline(inet, x[:, None])
    same = (
        torch.equal(a.y, b.y)
        and torch.equal(a.acc, b.acc)
        and all(torch.equal(u, v) for u, v in zip(a.messages, b.messages, strict=True))
        and all(torch.equal(u, v) for u, v in zip(a.synops, b.synops, strict=True))
    )
    return {"points": int(x.shape[0]), "equal": bool(same), "seconds": time.monotonic() - t0}


def _command(argv) -> str:
    return "python benchmarks/sigma_delta_relu.py " + " ".join(argv or sys.argv[1:])


def report(rows, e_ann, args, netx, argv, head=None) -> str:
    pct = "{:.2f}%".format
    lines = [
        "# Navier-Stokes as sigma-delta-relu through netx (Loihi 2 without microcode)",
        "",
        f"Pretrained `navier-stokes-tg` (3-64x6-3 tanh, {ANN_MACS:,} MACs per point), "
        f"{args.points:,} domain points (seed 7), calibration on {args.n_cal:,} points "
        "(`convert`'s default calibration set). ANN vs "
        f"exact: u {pct(100 * e_ann[0])}, v {pct(100 * e_ann[1])}, p {pct(100 * e_ann[2])}. "
        "Deployed = netx integers (8-bit weight mantissas, 16-bit payloads, `state_exp = 6`) on "
        "the netx twin, each point from netx's zero start held until settled; messages and "
        "synaptic ops count every message (with biased neurons, their start-up burst too).",
        "",
        "| configuration | float f~ u, v | integer weights u, v | deployed u | v | p | "
        "u, v / ANN | u, v vs ANN | "
        "synops / point | / ANN MACs | messages / point | most per neuron | neurons | "
        "synapses | 1 chip | microcode |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in rows:
        f, e, o, d = r["float_errors"], r["errors"], r["over_ann"], r["vs_ann"]
        q = r["real_arithmetic_errors"]
        lines.append(
            f"| {r['config']} | {pct(100 * f['u'])}, {pct(100 * f['v'])} | "
            f"{pct(100 * q['u'])}, {pct(100 * q['v'])} | {pct(100 * e['u'])} | "
            f"{pct(100 * e['v'])} | {pct(100 * e['p'])} | {o['u']:.2f}, {o['v']:.2f} | "
            f"{pct(100 * d['u'])}, {pct(100 * d['v'])} | {r['synops_per_point']:,.0f} | "
            f"{r['synops_over_macs']:.1f} | {r['messages_per_point']:,.0f} | "
            f"{r['most_messages_per_neuron']} | {r['neurons']:,} | "
            f"{r['synapses']:,} | {'yes' if r['fits_one_chip'] else 'no'} | "
            f"{'none' if not r['microcode'] else 'needed'} |"
        )
    lines += [
        "",
        "Columns: *float f~*: the piecewise-ReLU network in float64 (no quantization) vs exact; "
        "*integer weights*: the 8-bit weights and rounded biases in real arithmetic (exact "
        "messages: no thresholds, no bits dropped; for biased neurons without the bias "
        "correction for message losses, which the deployed network has; with the bus the "
        "refit is fitted through the dropped bits, so exact messages are not what it was "
        "fitted to and this column can be worse than the deployed one); "
        "*u, v / ANN*: deployed error over the ANN's; *u, v vs ANN*: relative L2 distance of "
        "the deployed outputs from the ANN's; *most per neuron*: the most messages one neuron "
        "sent for one point.",
    ]
    if head is not None:
        e, a, o = head["errors"], head["ann_errors"], head["over_ann"]
        lines += [
            "",
            f"The first configuration on {head['points']:,} more domain points (seed 8), netx "
            f"twin: u {pct(100 * e['u'])}, v {pct(100 * e['v'])}, p {pct(100 * e['p'])} "
            f"(ANN: {pct(100 * a['u'])}, {pct(100 * a['v'])}, {pct(100 * a['p'])}; "
            f"{o['u']:.2f}x, {o['v']:.2f}x, {o['p']:.2f}x) at {head['synops_per_point']:,.0f} "
            f"synaptic ops per point ({head['synops_over_macs']:.2f}x the ANN's MACs), "
            f"{head['messages_per_point']:,.0f} messages per point.",
        ]
    if netx is not None:
        lines += [
            "",
            f"lava-dl 0.6.0 netx (`Loihi2SimCfg(select_tag='fixed_pt')`) ran the first "
            f"configuration's `.net` file on the first {netx['points']} points, one after "
            f"another: outputs, readout sums, messages and synaptic ops equal to the twin: "
            f"**{netx['equal']}** ({netx['seconds']:.0f} s).",
        ]
    lines += [
        "",
        "## What each export option does",
        "",
        "- **bus**: no neuron has a bias. The encoder appends three constants (`2^13`, `2^7`, "
        "`2` in messages) that every layer passes on through three neurons, and each bias is "
        "8-bit weights on them (`W0 8192 + W1 128 + W2 2` sigma units). A held point then "
        "travels as one wave from netx's zero start: each neuron sends once, so no start-up "
        "burst of biases and no later corrections, and each message's dropped low bits "
        "(`>> state_exp`, lost for good in lava-nc 0.10.0) are lost once. With biased "
        "neurons, a deep neuron is corrected once per layer above it.",
        "- **refit**: each `pre`, relay and readout layer is fitted by least squares from the "
        "messages the integer layers before it send on the calibration points to the float "
        "network's values there, then rounded row by row with the rounding error spread over "
        "the row's remaining weights (GPTQ-style); a relay's rows over its pieces and their "
        "coarse copies together. Each layer absorbs what is linear in the errors before it. "
        "Without it the relays dominate: their rows use a few of the 8 bits next to the "
        "pieces' fine scale, and the copies read only the `pre` layer's hi rows.",
        "- **hilo / lo_copies**: a second 8-bit row per weight for selector readers and "
        "relays (6 more bits); without them every row is one 8-bit mantissa.",
        "",
        f"Command: `{_command(argv)}`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
