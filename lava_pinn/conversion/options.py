"""The conversion options, defined once: names, types, defaults, help text and validation.

:class:`ConversionOptions` holds what :func:`lava_pinn.convert` and
:func:`~lava_pinn.conversion.convert.convert_mlp` read (their keyword defaults are its field
defaults); :class:`ConvertOptions` adds how the ``convert`` stage of a run directory picks its
calibration points. ``lava-pinn convert`` / ``pipeline`` flags, the ``[convert]`` TOML table
and ``run.json``'s record come from these fields (:mod:`lava_pinn.options`).

An option that only some representations or calibrations read is ``None`` by default ("the
method's own default"); giving it to a method that would ignore it is an error.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import torch

from lava_pinn.conversion.allocation import check_allocation
from lava_pinn.conversion.budget import check_spike_budget
from lava_pinn.conversion.calibration import CALIBRATIONS
from lava_pinn.conversion.finetune import FinetuneConfig
from lava_pinn.conversion.representations import (
    REPRESENTATIONS,
    check_exact,
    check_fit,
    check_pieces,
    check_placement,
)
from lava_pinn.conversion.thresholds import THRESHOLDS, check_percentile_use
from lava_pinn.neurons import NEURONS
from lava_pinn.options import option, positive_int
from lava_pinn.validation import check_count, check_real, check_T

CALIBRATION_BOUNDARY = 0.25  # share of convert's default calibration points on the boundary
DEFAULT_PERCENTILE = 99.9  # threshold "percentile" without a percentile

_FINETUNE_FIELDS = {
    "iters": "finetune_iters",
    "lr": "finetune_lr",
    "time_budget_s": "finetune_seconds",
}


def check_boundary(value: object, name: str = "boundary") -> float:
    """``value`` as the share of calibration points on the domain boundary, in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a fraction in [0, 1] (the share of calibration points on the "
            f"domain boundary), got {value!r}"
        )
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must be a fraction in [0, 1] (the share of calibration points on the "
            f"domain boundary), got {value}"
        )
    return float(value)


def _check_rate(value: object, name: str) -> float:
    """A finite positive number option (a learning rate, a time limit)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _neurons():
    return [n for n in NEURONS.available() if NEURONS.get(n).coding == "rate"]


def _calibrations():
    return CALIBRATIONS.available()


def _thresholds():
    return THRESHOLDS.available()


@dataclass(frozen=True)
class ConversionOptions:
    """How a trained network becomes a spiking one (see :func:`lava_pinn.convert`).

    Validated on construction: unknown names raise the registry's error listing the known
    ones, names are stored in their registered spelling, and an option the chosen
    representation or calibration does not read is refused.
    """

    T: int = option(64, "time steps", type=positive_int)
    neuron: str = option("if", "neuron model: {choices}", choices=_neurons)
    calibration: str = option("advanced", "calibration: {choices}", choices=_calibrations)
    threshold: str | None = option(
        None,
        "representation direct only: threshold rule {choices} (mse)",
        choices=_thresholds,
    )
    representation: str = option(
        "pwl", "pwl (several IF neurons per unit) or direct (one neuron per unit)"
    )
    pieces: int | None = option(None, "pwl only: pieces per unit (8)", type=positive_int)
    placement: float | None = option(
        None,
        "pwl only: breakpoints 0 by curvature, 1 equal output steps (narrower 8-bit weight "
        "range) (0.0)",
        type=float,
    )
    pieces_tol: float | None = option(
        None,
        "pwl only, smooth activations: per unit the fewest pieces (2-64) whose interpolant is "
        "within this of the activation (none: `pieces` everywhere)",
        type=float,
    )
    allocation: str | None = option(
        None,
        "pwl only, smooth activations: uniform (`pieces` for every unit) or sensitivity "
        "(pieces per unit from its effect on the output, within the spikes of uniform) "
        "(uniform)",
    )
    fit: str | None = option(
        None,
        "direct only, smooth activations: line (least squares, the paper's) or clipped (the "
        "clipped line the neuron computes) (line)",
    )
    exact: bool | None = option(
        None,
        "direct, pwl: refuse activations (or units) that cannot be represented exactly",
        cli=False,
    )
    per_neuron_threshold: bool | None = option(
        None, "representation direct only: one threshold per neuron, not per layer"
    )
    percentile: float | None = option(
        None,
        f"with threshold percentile: the percentile in (0, 100] ({DEFAULT_PERCENTILE})",
        type=float,
    )
    calibration_steps: int | None = option(
        None,
        "calibrations weight, advanced, finetune only: Adam steps of weight calibration (300)",
        type=positive_int,
    )
    calibration_lr: float | None = option(
        None, "Adam learning rate of weight calibration (1e-3)", cli=False
    )
    finetune_iters: int | None = option(None, "finetune only: iterations (60)", cli=False)
    finetune_lr: float | None = option(None, "finetune only: learning rate (2e-4)", cli=False)
    finetune_seconds: float | None = option(
        None, "finetune only: time limit in seconds (none)", cli=False
    )
    spike_budget: int | None = option(
        None,
        "spikes per inference (on the calibration points): choose T, and pwl's pieces for a "
        "smooth activation, for the lowest error within it; T is then ignored",
        type=positive_int,
    )
    dtype: torch.dtype = option(torch.float64, "float64 or float32 arithmetic", cli=False)

    def _name(self, field: str) -> str:
        """How errors name ``field``: the keyword for the API, ``Class.field`` otherwise."""
        return field if type(self) is ConversionOptions else f"{type(self).__name__}.{field}"

    def __post_init__(self) -> None:
        prefix = "" if type(self) is ConversionOptions else f"{type(self).__name__}: "
        what = "T (number of time steps)" if not prefix else f"{self._name('T')} (time steps)"
        object.__setattr__(self, "T", check_T(self.T, what))
        for field, reg in (
            ("neuron", NEURONS),
            ("calibration", CALIBRATIONS),
            ("threshold", THRESHOLDS),
            ("representation", REPRESENTATIONS),
        ):
            value = getattr(self, field)
            if field == "threshold" and (value is None or not prefix):
                continue  # the API: representation_options() names a threshold pwl ignores
            if prefix and value not in reg:
                avail = _neurons() if field == "neuron" else reg.available()
                raise ValueError(
                    f"{self._name(field)} {value!r} is unknown; available: {', '.join(avail)}"
                )
            object.__setattr__(self, field, reg.canonical(value))
        if NEURONS.get(self.neuron).coding != "rate":
            raise ValueError(
                f"{self._name('neuron')} {self.neuron!r} is a sigma-delta neuron: convert with "
                "lava_pinn.sigma_delta.convert_sigma_delta (or `lava-pinn sigma-delta`); "
                f"rate-coded models here: {', '.join(_neurons())}"
            )
        if self.pieces is not None:
            check_pieces(self.pieces, self._name("pieces"))
        if self.placement is not None:
            check_placement(self.placement, self._name("placement"))
        if self.pieces_tol is not None:
            check_real(self.pieces_tol, self._name("pieces_tol"), low=0.0, low_open=True)
        if self.fit is not None:
            check_fit(self.fit, self._name("fit"))
        if self.allocation is not None:
            check_allocation(self.allocation, self._name("allocation"))
        if self.exact is not None:
            check_exact(self.exact, self._name("exact"))
        if self.spike_budget is not None:
            check_spike_budget(self.spike_budget, self._name("spike_budget"))
        try:
            if prefix:
                check_percentile_use(self.threshold, self.percentile)
            self.representation_options()
            copts = self.calibration_options()
        except ValueError as err:
            if not prefix:
                raise
            raise ValueError(f"{prefix}{err}") from None
        if self.per_neuron_threshold is not None and not isinstance(
            self.per_neuron_threshold, bool
        ):
            raise TypeError(
                f"{self._name('per_neuron_threshold')} must be True, False or None, got "
                f"{self.per_neuron_threshold!r}"
            )
        if "calibration_steps" in copts:
            check_count(copts["calibration_steps"], self._name("calibration_steps"))
            _check_rate(copts["calibration_lr"], self._name("calibration_lr"))
        if "finetune_iters" in copts:
            self.finetune_config()
        if self.dtype not in (torch.float32, torch.float64):
            raise TypeError(
                f"{self._name('dtype')} must be torch.float64 (the default) or torch.float32, "
                f"got {self.dtype!r}"
            )

    def representation_options(self) -> dict[str, object]:
        """The options the representation reads, its defaults filled in (``percentile``
        99.9 with threshold ``percentile``)."""
        opts = REPRESENTATIONS.resolve_options(
            self.representation,
            {
                "threshold": self.threshold,
                "percentile": self.percentile,
                "per_neuron_threshold": self.per_neuron_threshold,
                "pieces": self.pieces,
                "placement": self.placement,
                "pieces_tol": self.pieces_tol,
                "allocation": self.allocation,
                "fit": self.fit,
                "exact": self.exact,
            },
        )
        if "threshold" in opts:
            opts["threshold"] = THRESHOLDS.canonical(opts["threshold"])
            check_percentile_use(opts["threshold"], opts["percentile"])
            if opts["threshold"] == "percentile" and opts["percentile"] is None:
                opts["percentile"] = DEFAULT_PERCENTILE
            if not isinstance(opts["per_neuron_threshold"], bool):
                raise TypeError(
                    f"{self._name('per_neuron_threshold')} must be True or False, got "
                    f"{opts['per_neuron_threshold']!r}"
                )
        return opts

    def calibration_options(self) -> dict[str, object]:
        """The options the calibration reads, its defaults filled in."""
        return CALIBRATIONS.resolve_options(
            self.calibration,
            {
                "calibration_steps": self.calibration_steps,
                "calibration_lr": self.calibration_lr,
                "finetune_iters": self.finetune_iters,
                "finetune_lr": self.finetune_lr,
                "finetune_seconds": self.finetune_seconds,
            },
        )

    def finetune_config(self) -> FinetuneConfig:
        """The fine-tuning settings; errors name the options (``finetune_iters``, ...)."""
        copts = self.calibration_options()
        try:
            return FinetuneConfig(
                iters=copts["finetune_iters"],
                lr=copts["finetune_lr"],
                time_budget_s=copts["finetune_seconds"],
            )
        except (TypeError, ValueError) as err:
            msg = str(err)
            for field, keyword in _FINETUNE_FIELDS.items():
                msg = msg.replace(f"FinetuneConfig.{field} ", f"{self._name(keyword)} ")
            raise type(err)(msg) from None

    def conversion_kwargs(self) -> dict[str, object]:
        """The keywords of :func:`lava_pinn.convert` these options stand for."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(ConversionOptions)}


@dataclass(frozen=True)
class ConvertOptions(ConversionOptions):
    """Options of the ``convert`` stage: the conversion, and its calibration points.

    ``calibration_points`` seeded points of the problem's domain (``seed``), a share
    ``calibration_boundary`` of them on its boundary (corners first), calibrate the network
    (:func:`lava_pinn.conversion.convert.default_calibration_points`).
    """

    calibration_points: int = option(1024, "calibration points from the domain", type=positive_int)
    calibration_boundary: float = option(
        CALIBRATION_BOUNDARY,
        "share of the calibration points on the domain boundary, corners first",
        type=float,
    )
    seed: int = option(0, "seed of the calibration points", type=int)

    def __post_init__(self) -> None:
        super().__post_init__()
        n = self.calibration_points
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"ConvertOptions.calibration_points must be an integer, got {n!r}")
        if n < 2:
            raise ValueError(
                f"ConvertOptions.calibration_points must be >= 2 (about 512-2048 is right), got {n}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"ConvertOptions.seed must be an integer, got {self.seed!r}")
        check_boundary(self.calibration_boundary, "ConvertOptions.calibration_boundary")

    def to_dict(self) -> dict:
        """The record in ``run.json``: every command-line option, and the Python/TOML-only
        ones where they differ from their default (``dtype`` by name)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.metadata.get("lava_pinn.option") and not f.metadata["lava_pinn.option"].cli:
                if v == f.default:
                    continue
                v = str(v).removeprefix("torch.") if f.name == "dtype" else v
            out[f.name] = v
        return out


__all__ = [
    "CALIBRATION_BOUNDARY",
    "DEFAULT_PERCENTILE",
    "ConversionOptions",
    "ConvertOptions",
    "check_boundary",
]
