"""Navier-Stokes as ``sigma-delta-relu`` (Lava's ReLU ``SigmaDelta``, Loihi 2 without microcode),
deployed through netx: the error frontier over pieces per unit and relay-row precision.

For each configuration (``K`` ReLU pieces per unit; ``lo_copies`` / ``hilo``: the extra 8-bit
rows that give relay and selector weights 14 bits,
:func:`exporters.sigma_delta.quantize_relu`): the float piecewise network (``f~``, no
quantization) and the deployed integers on the netx twin
(:func:`exporters.sigma_delta.run_pipeline`: netx's zero start, each point held until
settled, the biases' start-up burst counted): u, v, p errors vs exact and vs the ANN, messages
and synaptic ops per point against the ANN's MACs, neurons, synapses, the Loihi 2 resource
check. ``--netx N``: the first configuration's ``.net`` file run in lava-dl netx on ``N`` of
the points, compared ``==`` with the twin. Writes docs/results/sigma_delta_relu.md and .json.

    .venv/bin/python benchmarks/sigma_delta_relu.py [--points 1024] [--netx 16] [--no-write]
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
    ("K=16, 14-bit relay rows (default)", 16, {}),
    ("K=8, 14-bit relay rows", 8, {}),
    ("K=24, 14-bit relay rows", 24, {}),
    ("K=16, 8-bit relay rows (no coarse copies)", 16, {"lo_copies": False}),
    ("K=16, 8-bit rows everywhere", 16, {"lo_copies": False, "hilo": False}),
)


def _err(y: torch.Tensor, ref: torch.Tensor) -> list[float]:
    return [float((y[:, i] - ref[:, i]).norm() / ref[:, i].norm()) for i in range(ref.shape[1])]


def real_arithmetic(inet, x: torch.Tensor) -> torch.Tensor:
    """The deployed integers' settled outputs in real arithmetic: the same 8-bit weights,
    biases and scales, but every message the exact ``act / 2**state_exp`` (no thresholds, no
    bits dropped by ``>> state_exp``, no Dense floor). Separates the error of the weights from
    that of the messages."""
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
    from exporters.sigma_delta import quantize_relu, run_pipeline, run_static
    from hardware.delta import delta_resources
    from lava_pinn.sigma_delta import convert_sigma_delta

    t0 = time.monotonic()
    net = convert_sigma_delta(ck, xc, neuron="sigma-delta-relu", pieces=pieces)
    with torch.no_grad():
        y_float = net.ann(x)
    inet = quantize_relu(net, xc, **opts)
    # the weights alone: the same quantization without the biases' correction for what the
    # messages lose (transmission_fix), in real arithmetic
    y_weights = real_arithmetic(quantize_relu(net, xc, **opts, settle_fix=False), x)
    r = run_pipeline(inet, x[None])
    y = r.y[0]
    rest = run_static(inet, x)  # every neuron started at its rest state: no start-up burst
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
        "rest_start": {
            "errors": dict(zip("uvp", _err(rest.y, ex), strict=True)),
            "messages_per_point": rest.messages_per_point(),
            "synops_per_point": rest.synops_per_point(),
            "synops_over_macs": rest.synops_per_point() / ANN_MACS,
        },
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
    netx = None
    if args.netx:
        netx = check_netx(rows[0]["_inet"], x[: args.netx])
        print(netx, flush=True)
    md = report(rows, e_ann, args, netx, argv)
    print(md)
    if not args.no_write:
        out = ROOT / "docs" / "results"
        (out / "sigma_delta_relu.md").write_text(md)
        data = {
            "ann_errors": dict(zip("uvp", e_ann, strict=True)),
            "points": args.points,
            "rows": [{k: v for k, v in r.items() if k != "_inet"} for r in rows],
            "netx": netx,
            "command": _command(argv),
        }
        (out / "sigma_delta_relu.json").write_text(json.dumps(data, indent=1))
    return 0


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


def report(rows, e_ann, args, netx, argv) -> str:
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
        "synaptic ops include the biases' start-up burst.",
        "",
        "| configuration | float f~ u, v | integer weights u, v | deployed u | v | p | "
        "u, v / ANN | u, v vs ANN | "
        "synops / point | / ANN MACs | messages / point | neurons | synapses | 1 chip | "
        "microcode |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in rows:
        f, e, o, d = r["float_errors"], r["errors"], r["over_ann"], r["vs_ann"]
        q = r["real_arithmetic_errors"]
        lines.append(
            f"| {r['config']} | {pct(100 * f['u'])}, {pct(100 * f['v'])} | "
            f"{pct(100 * q['u'])}, {pct(100 * q['v'])} | {pct(100 * e['u'])} | "
            f"{pct(100 * e['v'])} | {pct(100 * e['p'])} | {o['u']:.2f}, {o['v']:.2f} | "
            f"{pct(100 * d['u'])}, {pct(100 * d['v'])} | {r['synops_per_point']:,.0f} | "
            f"{r['synops_over_macs']:.1f} | {r['messages_per_point']:,.0f} | {r['neurons']:,} | "
            f"{r['synapses']:,} | {'yes' if r['fits_one_chip'] else 'no'} | "
            f"{'none' if not r['microcode'] else 'needed'} |"
        )
    lines += [
        "",
        "Columns: *float f~*: the piecewise-ReLU network in float64 (no quantization) vs exact; "
        "*integer weights*: the 8-bit weights and rounded biases in real arithmetic (exact "
        "messages: no thresholds, no bits dropped; quantized without the bias correction for "
        "message losses, which the deployed network has); "
        "*u, v / ANN*: deployed error over the ANN's; *u, v vs ANN*: relative L2 distance of "
        "the deployed outputs from the ANN's.",
        "",
        "The same integers with every neuron started at its rest state (the settled state for "
        "input 0; netx cannot set initial states, a chip could), so no start-up burst: "
        "the cost of one held point after a reset to rest.",
        "",
        "| configuration | u | v | synops / point | / ANN MACs | messages / point |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        q = r["rest_start"]
        lines.append(
            f"| {r['config']} | {pct(100 * q['errors']['u'])} | {pct(100 * q['errors']['v'])} | "
            f"{q['synops_per_point']:,.0f} | {q['synops_over_macs']:.1f} | "
            f"{q['messages_per_point']:,.0f} |"
        )
    if netx is not None:
        lines += [
            "",
            f"lava-dl 0.6.0 netx (`Loihi2SimCfg(select_tag='fixed_pt')`) ran the first "
            f"configuration's `.net` file on the first {netx['points']} points, one after "
            f"another: outputs, readout sums, messages and synaptic ops equal to the twin: "
            f"**{netx['equal']}** ({netx['seconds']:.0f} s).",
        ]
    lines += ["", f"Command: `{_command(argv)}`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
