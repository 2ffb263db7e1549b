"""``lava-pinn export DIR``: quantize a run directory's ``snn.pt`` into ``network.h5``.

    lava-pinn export runs/ns                 # DIR/snn.pt -> DIR/network.h5 (+ quantization report)
    lava-pinn export runs/ns --netx          # also DIR/network.net for lava-dl netx (lif-hard)

The stage function :func:`hardware.app.stages.export_stage` is what ``lava-pinn pipeline``
calls too. The artifact is :func:`exporters.export`'s versioned HDF5 file; the manifest
records the sha256 of ``DIR/checkpoint.pt`` when it is present. The command registers with
:func:`hardware.app.cli.register_command` on import (entry point group ``lava_pinn.commands``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hardware.app.cli import CLIError, register_command
from hardware.app.stages import NETX_FILE, ExportOptions, export_stage
from lava_pinn.options import add_arguments, deprecated_alias, from_args, positive_int


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory holding snn.pt")
    add_arguments(p, ExportOptions)
    deprecated_alias(
        p, "--calibration-points", "--scoring-points", "scoring_points", type=positive_int
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")


def _export_run(args: argparse.Namespace) -> int:
    import torch

    import exporters
    from hardware.app.rundir import RunDir, RunDirError  # noqa: F401

    torch.set_num_threads(max(1, args.threads))
    try:
        rd = RunDir(args.dir)
    except RunDirError as err:
        raise CLIError(str(err), "create it with `lava-pinn pipeline PROBLEM --out DIR`") from None
    try:
        opts = ExportOptions(**from_args(args, ExportOptions))
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
