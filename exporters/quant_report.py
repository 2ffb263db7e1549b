"""What quantization did to each layer: :class:`LayerReport` and :class:`QuantizationReport`.

Both are frozen, validated and round-trip through plain dicts (``to_dict`` / ``from_dict``), so
the artifact file (:mod:`exporters.artifact`) stores them as JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from exporters.intnet import check_weight_groups
from lava_pinn.validation import check_count, check_T

LAYER_KINDS = ("host", "dense", "readout")


def _finite(value: object, where: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a number, got {value!r}") from None
    if math.isnan(out):
        raise ValueError(f"{where} must not be NaN")
    return out


@dataclass(frozen=True)
class LayerReport:
    """Quantization figures of one layer (hidden layer or readout).

    * ``weight_bits``: bits the largest integer weight needs, sign included, out of
      ``weight_bits_available`` (8 for a Lava Dense synapse, 16 for the host-side first layer);
      ``weight_groups``: Dense groups per synapse (2: a fine group refines the first,
      :class:`exporters.intnet.IntLayer`).
    * ``saturated``: values (weights, thresholds, biases, ``v0``) that had to be moved to the
      edge of their range; ``rounded_to_zero``: nonzero float weights that became integer 0 (of
      ``nonzero_weights``); ``zeroed_norm_fraction = ||W[zeroed]|| / ||W||`` (Frobenius).
    * ``weight_error``: ``||W_eff - W|| / ||W||`` with ``W_eff`` the weights the integer layer
      really applies (Lava's even truncation included) mapped back to float units.
    * ``threshold_error``: ``max_i |th_int_i * unit_i - V_i| / V_i``; ``bias_error``:
      ``max_i |b_eff_i - b_i| / V_i`` (per step, in thresholds; includes the bias correction);
      ``v0_error`` likewise. Readout: ``bias_error = max_k |b_eff_k - b_k| / sum_j |W_kj|``.
    * ``v_headroom``: ``(2**23 - 1) / worst-case |v|`` over any input (``>= 1``: ``v`` can never
      saturate; for a neuron that holds ``v`` near its firing range, graded IF: its bounds and
      its largest current); ``choice``: the scale candidate the search kept; ``search``:
      objective per candidate tried (relative output error of the twin vs the float SNN).
    """

    name: str
    kind: str
    neuron: str
    shape: tuple[int, int]
    weight_exp: int
    weight_bits: int
    weight_bits_available: int
    saturated: int
    rounded_to_zero: int
    nonzero_weights: int
    zeroed_norm_fraction: float
    weight_error: float
    threshold_error: float = 0.0
    bias_error: float = 0.0
    v0_error: float = 0.0
    v_headroom: float = math.inf
    choice: str = ""
    search: tuple[tuple[str, float], ...] = ()
    weight_groups: int = 1

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"LayerReport.kind must be one of {LAYER_KINDS}, got {self.kind!r}")
        shape = tuple(int(s) for s in self.shape)
        if len(shape) != 2:
            raise ValueError(f"LayerReport.shape must be (n_out, n_in), got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        for f in ("weight_bits", "weight_bits_available", "saturated", "rounded_to_zero"):
            check_count(getattr(self, f), f"LayerReport.{f}", 0)
        check_weight_groups(self.weight_groups, "LayerReport.weight_groups")
        check_count(self.nonzero_weights, "LayerReport.nonzero_weights", 0)
        if self.rounded_to_zero > self.nonzero_weights:
            raise ValueError(
                f"LayerReport.rounded_to_zero ({self.rounded_to_zero}) exceeds nonzero_weights "
                f"({self.nonzero_weights})"
            )
        for f in (
            "zeroed_norm_fraction",
            "weight_error",
            "threshold_error",
            "bias_error",
            "v0_error",
            "v_headroom",
        ):
            object.__setattr__(self, f, _finite(getattr(self, f), f"LayerReport.{f}"))
        search = tuple((str(k), _finite(v, "LayerReport.search")) for k, v in self.search)
        object.__setattr__(self, "search", search)

    @property
    def zeroed_fraction(self) -> float:
        """Share of the nonzero float weights that rounded to 0."""
        return self.rounded_to_zero / self.nonzero_weights if self.nonzero_weights else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["search"] = [[k, v] for k, v in self.search]
        d["v_headroom"] = _json_float(self.v_headroom)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LayerReport:
        if not isinstance(d, dict):
            raise TypeError(f"LayerReport.from_dict needs a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"LayerReport.from_dict: unknown fields {unknown}")
        d = dict(d)
        d["search"] = tuple((k, v) for k, v in d.get("search", ()))
        d["v_headroom"] = _from_json_float(d.get("v_headroom", math.inf))
        return cls(**d)


def _json_float(x: float) -> float | str:
    return "inf" if math.isinf(x) else x


def _from_json_float(x: object) -> float:
    return math.inf if x == "inf" else float(x)  # type: ignore[arg-type]


@dataclass(frozen=True)
class QuantizationReport:
    """The whole quantization: one :class:`LayerReport` per hidden layer, the readout's, the
    float scales, and how well the integer network (torch twin) reproduces the float SNN on the
    calibration points (``twin_vs_float``: relative L2 per output, ``objective``: their mean)."""

    neuron: str
    T: int
    layers: tuple[LayerReport, ...]
    readout: LayerReport
    input_scale: tuple[float, ...]
    output_scale: tuple[float, ...]
    calibration_points: int
    twin_vs_float: tuple[float, ...]
    objective: float
    search_evaluations: int = 0

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers or not all(isinstance(la, LayerReport) for la in layers):
            raise TypeError("QuantizationReport.layers must be a non-empty tuple of LayerReport")
        object.__setattr__(self, "layers", layers)
        if not isinstance(self.readout, LayerReport):
            raise TypeError("QuantizationReport.readout must be a LayerReport")
        object.__setattr__(self, "T", check_T(self.T, "QuantizationReport.T"))
        for f in ("input_scale", "output_scale", "twin_vs_float"):
            vals = tuple(_finite(v, f"QuantizationReport.{f}") for v in getattr(self, f))
            object.__setattr__(self, f, vals)
        check_count(self.calibration_points, "QuantizationReport.calibration_points", 0)
        check_count(self.search_evaluations, "QuantizationReport.search_evaluations", 0)
        object.__setattr__(self, "objective", _finite(self.objective, "objective"))

    @property
    def saturated(self) -> int:
        return sum(la.saturated for la in (*self.layers, self.readout))

    @property
    def rounded_to_zero(self) -> int:
        return sum(la.rounded_to_zero for la in (*self.layers, self.readout))

    def to_dict(self) -> dict:
        return {
            "neuron": self.neuron,
            "T": self.T,
            "layers": [la.to_dict() for la in self.layers],
            "readout": self.readout.to_dict(),
            "input_scale": list(self.input_scale),
            "output_scale": list(self.output_scale),
            "calibration_points": self.calibration_points,
            "twin_vs_float": list(self.twin_vs_float),
            "objective": self.objective,
            "search_evaluations": self.search_evaluations,
        }

    @classmethod
    def from_dict(cls, d: dict) -> QuantizationReport:
        if not isinstance(d, dict):
            raise TypeError(f"QuantizationReport.from_dict needs a dict, got {type(d).__name__}")
        try:
            return cls(
                neuron=str(d["neuron"]),
                T=int(d["T"]),
                layers=tuple(LayerReport.from_dict(la) for la in d["layers"]),
                readout=LayerReport.from_dict(d["readout"]),
                input_scale=tuple(d["input_scale"]),
                output_scale=tuple(d["output_scale"]),
                calibration_points=int(d["calibration_points"]),
                twin_vs_float=tuple(d["twin_vs_float"]),
                objective=float(d["objective"]),
                search_evaluations=int(d.get("search_evaluations", 0)),
            )
        except KeyError as err:
            raise ValueError(f"QuantizationReport.from_dict: missing field {err}") from None

    def summary(self) -> str:
        """A few lines for logs and the CLI."""
        lines = [
            f"quantized {self.neuron} network, T={self.T}: twin vs float SNN "
            + ", ".join(f"{100 * e:.3f}%" for e in self.twin_vs_float)
            + f" (rel. L2 on {self.calibration_points} calibration points)"
        ]
        for la in (*self.layers, self.readout):
            lines.append(
                f"  {la.name:>10} {la.kind:7} {la.shape[0]}x{la.shape[1]} exp {la.weight_exp:+d} "
                f"bits {la.weight_bits}/{la.weight_bits_available}"
                f"{' x2 groups' if la.weight_groups == 2 else ''} "
                f"err {100 * la.weight_error:.3f}% "
                f"zeroed {la.rounded_to_zero}/{la.nonzero_weights} sat {la.saturated} "
                f"[{la.choice}]"
            )
        return "\n".join(lines)
