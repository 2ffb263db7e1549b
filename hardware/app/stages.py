"""The stages of a run directory: the checkpoint, ``convert`` and ``export``.

Each stage reads its inputs from a :class:`~hardware.app.rundir.RunDir`, writes its artifact under
the fixed name atomically, and records its options in ``run.json`` (stage names ``train`` and
``convert``). ``lava-pinn train``/``convert`` and ``lava-pinn pipeline`` call these functions, so
a run directory made by one can be continued by the other.

    lava-pinn pipeline navier-stokes-tg --out runs/ns     # all stages
    lava-pinn convert runs/ns --T 32                       # just this one, again
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hardware.app.rundir import RunDir, RunDirError
from lava_pinn.conversion.options import ConvertOptions
from lava_pinn.options import option, positive_int

log = logging.getLogger(__name__)

NETX_FILE = "network.net"
# Lava backends' defaults for `lava-pinn run` and the pipeline: grid points evaluated (as the
# demo and the tutorial run) and points per graph (as benchmarks/energy.py runs).
LAVA_POINTS = 512
LAVA_BATCH = 16


@dataclass(frozen=True)
class CheckpointOptions:
    """How the ``train`` stage gets ``checkpoint.pt``: copy the committed pretrained checkpoint
    of the problem (``train=False``) or train one with the problem's defaults (``train=True``,
    ``seed``)."""

    train: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.train, bool):
            raise TypeError(f"CheckpointOptions.train must be True or False, got {self.train!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"CheckpointOptions.seed must be an integer, got {self.seed!r}")

    def to_dict(self) -> dict:
        return {"source": "trained" if self.train else "pretrained", "seed": self.seed}


def checkpoint_stage(rd: RunDir, problem: str, options: CheckpointOptions, *, progress=True):
    """Write ``DIR/checkpoint.pt`` for ``problem``: the pretrained one, or a freshly trained one.

    Returns the loaded :class:`~lava_pinn.checkpoint.Checkpoint`. Records stage ``train``.
    """
    from lava_pinn.checkpoint import (
        atomic_write_bytes,
        load_checkpoint,
        pretrained_path,
    )
    from lava_pinn.problems import get_problem

    prob = get_problem(problem)  # KeyError listing the zoo for an unknown name
    rd.set_problem(prob.name)
    dest = rd.file("checkpoint")
    t0 = time.perf_counter()
    if options.train:
        from lava_pinn.training import TrainConfig, train

        config = TrainConfig.for_problem(prob, seed=options.seed)
        result = train(prob, prob.default_model(), config, progress=progress)
        result.save(dest)
    else:
        src = pretrained_path(prob.name)
        if not src.is_file():
            from lava_pinn.checkpoint import load_pretrained

            load_pretrained(prob.name)  # raises CheckpointError naming the available ones
        atomic_write_bytes(dest, src.read_bytes())
    ck = load_checkpoint(dest)
    info = {
        "model": ck.config.describe(),
        "rel_l2": ck.metrics.get("rel_l2", {}),
        "seconds": time.perf_counter() - t0,
    }
    rd.record("train", options.to_dict(), info)
    return ck


def calibration_points(problem: str, params: dict, n: int, seed: int, boundary: float = 0.0):
    """``n`` seeded points (float64) of the problem's domain, a share ``boundary`` of them on
    its boundary (:func:`~lava_pinn.conversion.convert.default_calibration_points`)."""
    from lava_pinn.conversion.convert import default_calibration_points

    return default_calibration_points(problem, dict(params), n, seed, boundary)


def convert_stage(rd: RunDir, options: ConvertOptions):
    """Convert ``DIR/checkpoint.pt`` into ``DIR/snn.pt``; records stage ``convert``.

    Returns the :class:`~lava_pinn.conversion.network.SpikingNetwork`.
    """
    import lava_pinn
    from lava_pinn.checkpoint import load_checkpoint

    ck_path = rd.require("checkpoint")
    ck = load_checkpoint(ck_path)
    if rd.problem is None:
        rd.set_problem(ck.problem)
    elif rd.problem != ck.problem:
        raise RunDirError(
            f"{ck_path} is a {ck.problem!r} checkpoint but {rd.path} holds a run of "
            f"{rd.problem!r}; use another run directory"
        )
    if ck.config.kind != "mlp":
        raise RunDirError(
            f"{ck_path} holds a {ck.config.kind.upper()} ({ck.config.describe()}); the run "
            f"directory stages export MLPs only; convert it in Python with lava_pinn.convert"
        )
    x_cal = calibration_points(
        ck.problem,
        ck.problem_params,
        options.calibration_points,
        options.seed,
        options.calibration_boundary,
    )
    t0 = time.perf_counter()
    snn = lava_pinn.convert(ck, x_cal, **options.conversion_kwargs())
    seconds = time.perf_counter() - t0
    path = snn.save(rd.file("snn"))
    info = {
        "network": repr(snn),
        "neurons": snn.neurons,
        "synapses": snn.synapses,
        "calibration_error_final": snn.metadata.get("calibration_error_final"),
        "seconds": seconds,
        "checkpoint_sha256": ck.sha256,
    }
    rd.record("convert", options.to_dict(), info)
    log.info("converted %s in %.1f s -> %s", ck_path, seconds, path)
    return snn


@dataclass(frozen=True)
class ExportOptions:
    """Options of the ``export`` stage.

    ``calibration_points`` seeded points of the problem's domain (``seed``) score the scale
    search of :func:`exporters.quantize.quantize` (``search=False`` keeps the first candidate);
    ``netx`` also writes ``DIR/network.net`` (hardware-native ``lif-hard`` networks only);
    ``weight_groups=2`` gives every Dense synapse a fine second group (about 15-bit weights at
    twice the synapses; custom IF neurons only, not netx).
    """

    calibration_points: int = option(256, "points scoring the scale search", type=positive_int)
    seed: int = option(1, "seed of those points", type=int)
    search: bool = option(True, "keep the first scale candidate", flag="--no-search")
    netx: bool = option(False, "also write DIR/network.net (lava-dl)")
    weight_groups: int = option(
        1,
        "2: a fine second Dense group per synapse, ~15-bit weights at twice the synapses "
        "(custom IF neurons; not with --netx)",
        type=int,
    )

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
    from hardware.app.stages import calibration_points
    from lava_pinn.conversion.network import SpikingNetwork

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


def stage_artifacts(rd: RunDir, stage: str) -> list[Path]:
    """The files whose presence, with a matching record, makes a torch stage done."""
    return {
        "train": [rd.file("checkpoint")],
        "convert": [rd.file("snn")],
        "export": [rd.file("network")],
    }[stage]


__all__ = [
    "LAVA_BATCH",
    "LAVA_POINTS",
    "NETX_FILE",
    "CheckpointOptions",
    "ConvertOptions",
    "ExportOptions",
    "export_stage",
    "calibration_points",
    "checkpoint_stage",
    "convert_stage",
    "stage_artifacts",
]
