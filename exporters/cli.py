"""``lava-pinn export DIR``: quantize a run directory's ``snn.pt`` into ``network.h5``.

    lava-pinn export runs/ns                 # DIR/snn.pt -> DIR/network.h5 (+ quantization report)
    lava-pinn export runs/ns --netx          # also DIR/network.net for lava-dl netx (lif-hard)

The stage function :func:`export_stage` is what ``lava-pinn pipeline`` calls too. The artifact is
:func:`exporters.export`'s versioned HDF5 file; the manifest records the sha256 of
``DIR/checkpoint.pt`` when it is present. The command registers with
:func:`lava_pinn.cli.register_command` on import (entry point group ``lava_pinn.commands``).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lava_pinn.cli import CLIError, register_command

log = logging.getLogger(__name__)

NETX_FILE = "network.net"


@dataclass(frozen=True)
class ExportOptions:
    """Options of the ``export`` stage.

    ``calibration_points`` seeded points of the problem's domain (``seed``) score the scale
    search of :func:`exporters.quantize.quantize` (``search=False`` keeps the first candidate);
    ``netx`` also writes ``DIR/network.net`` (hardware-native ``lif-hard`` networks only);
    ``weight_groups=2`` gives every Dense synapse a fine second group (about 15-bit weights at
    twice the synapses; custom IF neurons only, not netx).
    """

    calibration_points: int = 256
    seed: int = 1
    search: bool = True
    netx: bool = False
    weight_groups: int = 1

    def __post_init__(self) -> None:
        n = self.calibration_points
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"ExportOptions.calibration_points must be an integer >= 1, got {n!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"ExportOptions.seed must be an integer, got {self.seed!r}")
        for f in ("search", "netx"):
            if not isinstance(getattr(self, f), bool):
                raise TypeError(
                    f"ExportOptions.{f} must be True or False, got {getattr(self, f)!r}"
                )
        from exporters.intnet import check_weight_groups

        check_weight_groups(self.weight_groups, "ExportOptions.weight_groups")
        if self.netx and self.weight_groups == 2:
            raise ValueError(
                "ExportOptions: netx files hold one weight group per layer; use weight_groups=1 "
                "with netx=True"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def export_stage(rd, options: ExportOptions) -> Path:
    """``DIR/snn.pt`` -> ``DIR/network.h5`` (and ``network.net`` with ``netx``); records stage
    ``export`` with the quantization summary. Returns the artifact path."""
    import exporters
    from lava_pinn.conversion.network import SpikingNetwork
    from lava_pinn.stages import calibration_points

    snn_path = rd.require("snn")
    snn = SpikingNetwork.load(snn_path)
    problem = snn.metadata.get("problem") or rd.problem
    x = None
    if problem:
        x = calibration_points(
            problem,
            snn.metadata.get("problem_params", {}),
            options.calibration_points,
            options.seed,
        )
    ck = rd.file("checkpoint")
    t0 = time.perf_counter()
    path = exporters.export(
        snn,
        rd.file("network"),
        calibration_inputs=x,
        source=ck if ck.is_file() else None,
        search=options.search,
        n_points=options.calibration_points,
        seed=options.seed,
        weight_groups=options.weight_groups,
    )
    art = exporters.load_artifact(path)
    files = [path.name]
    if options.netx:
        from exporters.netx import export_netx

        files.append(export_netx(art.network, rd.path / NETX_FILE).name)
    rep = art.report
    info = {
        "seconds": time.perf_counter() - t0,
        "files": files,
        "twin_vs_float": list(rep.twin_vs_float) if rep else None,
        "saturated": rep.saturated if rep else None,
        "rounded_to_zero": rep.rounded_to_zero if rep else None,
        "sizes": list(art.network.sizes),
        "T": art.network.T,
    }
    rd.record("export", options.to_dict(), info)
    return path


def _export_args(p: argparse.ArgumentParser) -> None:
    d = ExportOptions()
    p.add_argument("dir", type=Path, help="run directory holding snn.pt")
    p.add_argument(
        "--calibration-points",
        type=int,
        default=d.calibration_points,
        help=f"points scoring the scale search ({d.calibration_points})",
    )
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed of those points ({d.seed})")
    p.add_argument("--no-search", action="store_true", help="keep the first scale candidate")
    p.add_argument("--netx", action="store_true", help="also write DIR/network.net (lava-dl)")
    p.add_argument(
        "--weight-groups",
        type=int,
        choices=[1, 2],
        default=d.weight_groups,
        help="2: a fine second Dense group per synapse, ~15-bit weights at twice the synapses "
        "(custom IF neurons; not with --netx)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")


def _export_run(args: argparse.Namespace) -> int:
    import torch

    import exporters
    from lava_pinn.rundir import RunDir, RunDirError

    torch.set_num_threads(max(1, args.threads))
    try:
        rd = RunDir(args.dir)
    except RunDirError as err:
        raise CLIError(str(err), "create it with `lava-pinn pipeline PROBLEM --out DIR`") from None
    try:
        opts = ExportOptions(
            args.calibration_points, args.seed, not args.no_search, args.netx, args.weight_groups
        )
    except ValueError as err:
        raise CLIError(str(err), "drop --netx or --weight-groups 2") from None
    path = export_stage(rd, opts)
    art = exporters.load_artifact(path)
    if art.report is not None:
        print(art.report.summary())
    for name in rd.stage("export")["info"]["files"]:
        print(f"wrote       {rd.path / name}")
    print(f"next        lava-pinn run {rd.path} --backend torch-twin --backend lava-cpu")
    return 0


register_command(
    "export",
    "quantize DIR/snn.pt into the Loihi integer artifact DIR/network.h5",
    _export_args,
    _export_run,
)

__all__ = ["NETX_FILE", "ExportOptions", "export_stage"]
