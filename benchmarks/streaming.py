"""Streaming benchmark: the Navier-Stokes sigma-delta network over a time sweep.

The solution field on a G x G grid (one lane per grid point) at K successive times
t in [0, 1], run without reset (only changes travel), for K = 101 ... 100,001 frames: total
messages and synaptic ops of the sweep, per point-frame, energy per point-frame under the
delta profiles beside the ANN's per frame, and the worst ratio of the SNN's u, v error to the
ANN's at a frame. Writes docs/results/streaming.md, .json and figures/streaming.png/.pdf.

    .venv/bin/python benchmarks/streaming.py [--frames 101,1001,10001,100001] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _thresholds(th: dict) -> str:
    if "in_vth" not in th:
        return f"threshold {th['vth'][0]} payload unit(s) in every layer"
    how = "within" if th["budget_met"] else "missing"
    return (
        f"thresholds {th['vth']} (payload units per layer) and encoder steps {th['in_vth']}, "
        f"the coarsest {how} {th['budget']:.3g}x the ANN's error (half the budget's slack) at "
        f"each of {th['check_frames']} evenly spaced frames ({th['error']:.3f}x reached there)"
    )


def markdown(st: dict, grid: int, seconds: float) -> str:
    rows = st["rows"]
    lines = [
        "# Streaming: Navier-Stokes sigma-delta network over a time sweep",
        "",
        f"{grid}x{grid} grid ({st['lanes']} lanes), t swept once over [0, 1], no reset;"
        f" 2 weight groups, 24-bit payloads; {_thresholds(st['thresholds'])}. Errors: worst "
        "over the checked frames of the SNN's u, v, p error / the ANN's at that frame (relative "
        "L2 over the grid, against the exact solution).",
        "",
        "| frames | active steps | messages (total) | vs previous | messages / point-frame | "
        "synops / point-frame | nJ / point-frame (cmos-45nm, loihi2-lower, loihi2-upper) | "
        "ANN FP32 / INT8 nJ per frame | worst frame error / ANN | seconds |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    prev = None
    for r in rows:
        e = r["energy_nj_per_point_frame"]
        ratio = "" if prev is None else f"{r['messages_total'] / prev:.2f}x"
        prev = r["messages_total"]
        lines.append(
            f"| {r['frames']:,} | {r['active_steps']:,} | {r['messages_total']:,.0f} | {ratio} | "
            f"{r['messages_per_point_frame']:.3g} | {r['synops_per_point_frame']:.3g} | "
            f"{e['cmos-45nm']:.3g}, {e['loihi2-lower']:.3g}, {e['loihi2-upper']:.3g} | "
            f"{r['ann_fp32_nj']:.3g} / {r['ann_int8_nj']:.3g} | "
            f"{r['worst_frame_error_over_ann']:.3f} ({r['frames_checked']:,} frames, t = "
            f"{r['worst_frame_t']:.4g}) | "
            f"{r['seconds']:.0f} |"
        )
    lines += ["", f"Command: `{st['command']}` ({seconds:.0f} s so far).", ""]
    return "\n".join(lines)


KEEP = "<!-- written by hand below this line; benchmarks/streaming.py keeps it -->"


def _kept(path: Path) -> str:
    """The hand-written analysis at the end of ``path`` (from :data:`KEEP`), or ``""``."""
    old = path.read_text() if path.is_file() else ""
    return old[old.index(KEEP) :] if KEEP in old else ""


def main(argv: list[str] | None = None) -> int:
    from exporters.sigma_delta import quantize_delta
    from hardware.app.sigma_delta import DeltaJob, _plot_stream, stream_sweep, stream_thresholds
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points
    from lava_pinn.problems import get_problem
    from lava_pinn.sigma_delta import convert_sigma_delta

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="101,1001,10001,100001")
    ap.add_argument("--grid", type=int, default=21)
    ap.add_argument(
        "--vth",
        type=int,
        default=None,
        help="threshold, payload units, every layer (default: chosen against --budget)",
    )
    ap.add_argument("--budget", type=float, default=1.2, help="worst frame error x the ANN's")
    ap.add_argument(
        "--check-frames", type=int, default=201, help="frames the thresholds are chosen on"
    )
    ap.add_argument(
        "--verify-frames",
        type=int,
        default=10001,
        help="each sweep checks every frame up to this many, else this many evenly spaced",
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    frames = tuple(int(v) for v in args.frames.split(","))
    torch.manual_seed(0)
    torch.set_num_threads(1)  # small per-step tensors: threads only contend
    t0 = time.monotonic()
    ck = load_pretrained("navier-stokes-tg")
    prob = get_problem(ck.problem, **ck.problem_params)
    xc = default_calibration_points(ck.problem, ck.problem_params, 4096, 1, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        inet = quantize_delta(convert_sigma_delta(ck, xc), weight_groups=2, payload_bits=24)
    model = ck.model.double().eval()
    opts = {
        "stream_grid": args.grid,
        "stream_vth": args.vth,
        "budget": args.budget,
        "stream_check_frames": args.check_frames,
        "stream_verify_frames": args.verify_frames,
    }
    job = DeltaJob(**opts)
    inet, thr = stream_thresholds(job, prob, model, inet, lambda x, y: y)
    st: dict = {"rows": []}
    for K in frames:  # one frame count at a time, the page rewritten after each
        job = DeltaJob(stream_frames=(K,), **opts)
        one = stream_sweep(job, prob, model, inet, lambda x, y: y, list(prob.outputs))
        st = {**one, "rows": [*st["rows"], *one["rows"]], "thresholds": thr}
        st["command"] = "python benchmarks/streaming.py " + " ".join(argv or sys.argv[1:])
        md = markdown(st, args.grid, time.monotonic() - t0)
        print(md, flush=True)
        if not args.no_write:
            out = ROOT / "docs" / "results"
            page = out / "streaming.md"
            kept = _kept(page)
            page.write_text(md + ("\n" + kept if kept else ""))
            (out / "streaming.json").write_text(json.dumps(st, indent=1))
            if len(st["rows"]) > 1:
                _plot_stream(st, out / "figures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
