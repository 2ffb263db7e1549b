"""The torch-side stages of a run directory: the checkpoint and ``convert``.

Each stage reads its inputs from a :class:`~lava_pinn.rundir.RunDir`, writes its artifact under
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

from lava_pinn.rundir import RunDir, RunDirError

log = logging.getLogger(__name__)


def _pos_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


@dataclass(frozen=True)
class ConvertOptions:
    """Options of the ``convert`` stage (see :func:`lava_pinn.convert` for their meaning).

    ``calibration_points`` seeded points of the problem's domain (``seed``), a share
    ``calibration_boundary`` of them on its boundary (corners first), calibrate the network
    (:func:`lava_pinn.conversion.convert.default_calibration_points`); ``threads`` is the
    number of torch threads used while converting.
    """

    T: int = 64
    neuron: str = "if"
    calibration: str = "advanced"
    threshold: str | None = None  # representation "direct" only (its default: mse)
    percentile: float | None = None  # "direct" with threshold "percentile" (default 99.9)
    per_neuron_threshold: bool | None = None  # "direct" only (default False)
    representation: str = "pwl"
    pieces: int | None = None  # "pwl" only (its default: 8)
    placement: float | None = None  # "pwl" only (its default: 0.0)
    calibration_points: int = 1024
    calibration_steps: int | None = None  # "weight", "advanced", "finetune" only (300)
    seed: int = 0
    calibration_boundary: float = 0.25

    def __post_init__(self) -> None:
        from lava_pinn.conversion import CALIBRATIONS, REPRESENTATIONS, THRESHOLDS
        from lava_pinn.conversion.convert import check_boundary
        from lava_pinn.conversion.representations import check_pieces, check_placement
        from lava_pinn.conversion.thresholds import check_percentile_use
        from lava_pinn.neurons import NEURONS

        _pos_int(self.T, "ConvertOptions.T (time steps)")
        if self.pieces is not None:
            check_pieces(self.pieces, "ConvertOptions.pieces")
        if self.placement is not None:
            check_placement(self.placement, "ConvertOptions.placement")
        try:
            check_percentile_use(self.threshold, self.percentile)
        except ValueError as err:
            raise ValueError(f"ConvertOptions: {err}") from None
        if self.per_neuron_threshold is not None and not isinstance(
            self.per_neuron_threshold, bool
        ):
            raise TypeError(
                "ConvertOptions.per_neuron_threshold must be True, False or None, got "
                f"{self.per_neuron_threshold!r}"
            )
        if self.calibration_steps is not None:
            _pos_int(self.calibration_steps, "ConvertOptions.calibration_steps")
        if isinstance(self.calibration_points, bool) or not isinstance(
            self.calibration_points, int
        ):
            raise ValueError(
                f"ConvertOptions.calibration_points must be an integer, got "
                f"{self.calibration_points!r}"
            )
        if self.calibration_points < 2:
            raise ValueError(
                f"ConvertOptions.calibration_points must be >= 2 (about 512-2048 is right), got "
                f"{self.calibration_points}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"ConvertOptions.seed must be an integer, got {self.seed!r}")
        check_boundary(self.calibration_boundary, "ConvertOptions.calibration_boundary")
        for field, reg in (
            ("neuron", NEURONS),
            ("calibration", CALIBRATIONS),
            ("threshold", THRESHOLDS),
            ("representation", REPRESENTATIONS),
        ):
            value = getattr(self, field)
            if value is not None and value not in reg:
                raise ValueError(
                    f"ConvertOptions.{field} {value!r} is unknown; available: "
                    f"{', '.join(reg.available())}"
                )
            if value is not None:  # the registered spelling, as convert records it
                object.__setattr__(self, field, reg.canonical(value))
        try:
            CALIBRATIONS.resolve_options(
                self.calibration, {"calibration_steps": self.calibration_steps}
            )
            REPRESENTATIONS.resolve_options(
                self.representation,
                {
                    "threshold": self.threshold,
                    "percentile": self.percentile,
                    "per_neuron_threshold": self.per_neuron_threshold,
                    "pieces": self.pieces,
                    "placement": self.placement,
                },
            )
        except ValueError as err:
            raise ValueError(f"ConvertOptions: {err}") from None

    def to_dict(self) -> dict:
        return asdict(self)


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
    snn = lava_pinn.convert(
        ck,
        x_cal,
        T=options.T,
        neuron=options.neuron,
        calibration=options.calibration,
        threshold=options.threshold,
        percentile=options.percentile,
        per_neuron_threshold=options.per_neuron_threshold,
        representation=options.representation,
        pieces=options.pieces,
        placement=options.placement,
        calibration_steps=options.calibration_steps,
    )
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


def stage_artifacts(rd: RunDir, stage: str) -> list[Path]:
    """The files whose presence, with a matching record, makes a torch stage done."""
    return {"train": [rd.file("checkpoint")], "convert": [rd.file("snn")]}[stage]


__all__ = [
    "CheckpointOptions",
    "ConvertOptions",
    "calibration_points",
    "checkpoint_stage",
    "convert_stage",
    "stage_artifacts",
]
