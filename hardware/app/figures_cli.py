"""``lava-pinn figures DIR``: draw (or redraw) every figure a run directory's records allow.

    lava-pinn figures runs/x2                       # single column (3.5 in), PNG + PDF
    lava-pinn figures runs/x2 --width full --format svg

Works from what the run directory holds, without the problem's code:
``figures/figures.npz`` (written by the ``figures`` stage of ``lava-pinn pipeline``) for the
fields, raster, error-vs-T and Pareto figures, the activity and predictions files for the energy
figures, ``sigma_delta.json`` for the streaming figure. What cannot be drawn is said in one line
and the rest is drawn. Registers with :func:`hardware.app.cli.register_command` on import.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hardware.app.cli import CLIError, register_command
from hardware.figstyle import VECTOR_FORMATS, WIDTHS_IN


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (after the energy or figures stage)")
    p.add_argument(
        "--width",
        choices=sorted(WIDTHS_IN),
        default="column",
        help="column: 3.5 in (one column of a two-column paper); full: 7.1 in (default column)",
    )
    p.add_argument(
        "--format",
        choices=list(VECTOR_FORMATS),
        default="pdf",
        help="vector format written beside each PNG (default pdf)",
    )


def _run(args: argparse.Namespace) -> int:
    from hardware.app.figures import render_figures
    from hardware.app.rundir import RunDir, RunDirError
    from hardware.figstyle import FigStyle

    try:
        rd = RunDir(args.dir)
        paths, notes = render_figures(rd, FigStyle(args.width, args.format))
    except RunDirError as err:
        raise CLIError(str(err), "point at a run directory made by `lava-pinn pipeline`") from None
    for n in notes:
        print(f"note: {n}")
    if not paths:
        raise CLIError(
            f"{args.dir} has nothing to draw (no figures/figures.npz, activity_*.json or "
            "sigma_delta.json)",
            "run `lava-pinn pipeline PROBLEM --out DIR` (or `lava-pinn run DIR`) first",
        )
    pngs = sorted({p.with_suffix("").name for p in paths})
    print(f"{len(paths)} files ({len(pngs)} figures, PNG + {args.format}) in {rd.path / 'figures'}")
    return 0


register_command("figures", "draw a run directory's figures (PNG + PDF/SVG)", _args, _run)
