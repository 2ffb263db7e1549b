"""``lava-pinn ladder DIR``: the equivalence ladder of a run directory's exported network.

    lava-pinn ladder runs/ns                  # ANN, float SNN, twin, Lava float, Lava fixed
    lava-pinn ladder runs/ns --points 32 --no-lava

Reads ``DIR/network.h5`` (the artifact, with its float SNN) and ``DIR/checkpoint.pt`` (the ANN,
when present), evaluates every rung of :func:`hardware.ladder.equivalence_ladder` on
``--points`` seeded points of the problem's domain (the exact solution is the reference when the
problem has one), prints the table and writes ``DIR/ladder.md`` and ``DIR/ladder.json``
atomically. Exit status 1 when a check fails (the report names where the rungs diverge).
The command registers with :func:`hardware.app.cli.register_command` on import (entry point group
``lava_pinn.commands``: ``ladder = "hardware.app.ladder_cli"``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hardware.app.cli import CLIError, register_command
from hardware.ladder import CHECKS
from lava_pinn.options import deprecated_alias


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory holding network.h5")
    p.add_argument("--points", type=int, default=16, help="seeded domain points (16)")
    p.add_argument("--seed", type=int, default=2, help="seed of those points (2)")
    p.add_argument("--no-lava", action="store_true", help="skip the two Lava rungs")
    p.add_argument(
        "--lava-batch", dest="batch", type=int, default=16, help="points side by side in Lava (16)"
    )
    deprecated_alias(p, "--batch", "--lava-batch", "batch", type=int)
    p.add_argument(
        "--quant-tolerance",
        type=float,
        default=CHECKS["snn-int"][1],
        help="largest relative difference twin vs float SNN that passes (%(default)s)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")


def _run(args: argparse.Namespace) -> int:
    import torch

    from exporters.artifact import load_artifact
    from hardware.app.rundir import RunDir, RunDirError
    from hardware.ladder import equivalence_ladder
    from lava_pinn.checkpoint import atomic_write_bytes, load_checkpoint
    from lava_pinn.problems import get_problem

    torch.set_num_threads(max(1, args.threads))
    if args.points < 1 or args.batch < 1:
        raise CLIError(
            f"--points and --lava-batch must be >= 1, got {args.points} and {args.batch}",
            "use e.g. --points 16 --lava-batch 16",
        )
    try:
        rd = RunDir(args.dir)
        art = load_artifact(rd.require("network"))
    except RunDirError as err:
        raise CLIError(str(err), f"create it with `lava-pinn export {args.dir}`") from None
    if art.float_snn is None:
        raise CLIError(
            f"{art.path} holds no float SNN, which the ladder compares against",
            f"re-export it with `lava-pinn export {args.dir}`",
        )
    meta = art.float_snn.metadata
    name = meta.get("problem") or rd.problem
    if not name:
        raise CLIError(f"{rd.path}: no problem recorded", "run `lava-pinn pipeline` into DIR")
    problem = get_problem(name, **meta.get("problem_params", {}))
    x = problem.domain.sample(args.points, torch.Generator().manual_seed(args.seed))
    ann, exact, hard_bc = None, None, bool(meta.get("hard_bc", False))
    ck_path = rd.file("checkpoint")
    if ck_path.is_file():
        ck = load_checkpoint(ck_path)
        ann, hard_bc = ck.model, bool(ck.hard_bc)
    if problem.has_exact and not hard_bc:  # SNN outputs are the bare network N(x)
        exact = problem.exact(x.to(torch.float64)).numpy()
    rep = equivalence_ladder(
        art,
        x.to(torch.float64),
        ann=ann,
        exact=exact,
        lava=not args.no_lava,
        batch=args.batch,
        tolerances={"snn-int": args.quant_tolerance},
        output_names=tuple(problem.outputs),
    )
    md = rep.to_markdown()
    atomic_write_bytes(rd.path / "ladder.md", md.encode())
    atomic_write_bytes(
        rd.path / "ladder.json", (json.dumps(rep.to_dict(), indent=2) + "\n").encode()
    )
    print(md, end="")
    print(f"wrote       {rd.path / 'ladder.md'} and {rd.path / 'ladder.json'}")
    return 0 if rep.ok else 1


register_command(
    "ladder",
    "ANN -> float SNN -> twin -> Lava floating_pt -> Lava fixed_pt on the same points",
    _args,
    _run,
)
