"""``lava-pinn sigma-delta PROBLEM --out DIR``: the sigma-delta deployment job
(:func:`hardware.app.sigma_delta.run_job`) on the command line; ``make demo`` runs it on
Navier-Stokes. Registers with :func:`hardware.app.cli.register_command` when imported.
"""

from __future__ import annotations

from pathlib import Path

from hardware.app.sigma_delta import DeltaJob, _pct, run_job


def _args(p) -> None:
    d = DeltaJob()
    p.add_argument(
        "problem", nargs="?", default=d.problem, help=f"zoo problem (default {d.problem})"
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--weight-groups", type=int, default=d.weight_groups, choices=(1, 2))
    p.add_argument("--payload-bits", type=int, default=d.payload_bits, choices=(8, 16, 24))
    p.add_argument("--budget", type=float, default=d.budget, help="error budget x the ANN's")
    p.add_argument("--qat-steps", type=int, default=d.qat_steps, help="quantization-aware steps")
    p.add_argument("--points", type=int, default=d.points, help="twin evaluation points")
    p.add_argument("--lava-points", type=int, default=d.lava_points, help="points run on Lava")
    p.add_argument("--stream-grid", type=int, default=d.stream_grid, help="grid per space axis")
    p.add_argument(
        "--stream-frames",
        default=",".join(map(str, d.stream_frames)),
        help="comma-separated frame counts of the time sweep ('' for none)",
    )
    p.add_argument(
        "--stream-vth",
        type=int,
        default=None,
        help="stream threshold in every layer, payload units (default: chosen against "
        "--budget at every checked frame)",
    )


def _run(args) -> int:
    from hardware.app.cli import CLIError

    try:
        frames = tuple(int(v) for v in args.stream_frames.split(",") if v.strip())
        job = DeltaJob(
            problem=args.problem,
            weight_groups=args.weight_groups,
            payload_bits=args.payload_bits,
            budget=args.budget,
            qat_steps=args.qat_steps,
            points=args.points,
            lava_points=args.lava_points,
            stream_grid=args.stream_grid,
            stream_frames=frames,
            stream_vth=args.stream_vth,
        )
    except ValueError as err:
        raise CLIError(str(err), "see `lava-pinn sigma-delta --help`") from None
    out = Path(args.out)
    rec = run_job(job, out)
    s = rec["static"]
    err = ", ".join(f"{k} {_pct(v)}" for k, v in s["snn_error"].items())
    ann = ", ".join(f"{k} {_pct(v)}" for k, v in s["ann_error"].items())
    e45 = next(e for e in s["energy"] if e["profile"] == "cmos-45nm")
    print(f"sigma-delta {rec['problem']}: SNN {err} (ANN {ann}) on {s['points']:,} points")
    print(
        f"  {s['synops_per_point']:,.0f} synaptic ops/point ({s['synops_over_macs']:.2f}x the "
        f"ANN's MACs); cmos-45nm: {e45['verdict']}"
    )
    if "lava" in rec:
        lv = rec["lava"]
        print(f"  Lava fixed_pt == twin on {lv['points']} points: {lv['equal_to_twin']}")
    print(f"  report: {out / 'report.md'}")
    return 0


def _register() -> None:
    from hardware.app.cli import register_command

    register_command(
        "sigma-delta",
        "convert, deploy, run (twin and Lava), stream and price a sigma-delta network",
        _args,
        _run,
    )


_register()
