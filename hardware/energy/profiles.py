"""Energy profiles: per-operation energies of one chip, each read from ONE TOML data file.

A profile file (``hardware/profiles/<name>.toml``) looks like::

    name = "loihi"
    kind = "pre-silicon"        # measured | estimated | pre-silicon | derived | assumed
    source = "M. Davies et al., IEEE Micro 38(1), 2018, Table 2"
    notes = "..."

    [snn]                       # all in pJ, all required
    synaptic_op = 23.6          # one spike delivered over one synapse (an AC)
    analog_mac = 23.6           # one analog input value x weight (first layer, direct encoding)
    neuron_update = 52.0        # one neuron, one step, no spike
    neuron_update_active = 81.0 # one neuron, one step, in which it spikes
    spike = 1.7                 # one spike message sent
    tile_hop = 3.5              # one spike message crossing one router hop

    [ann]                       # optional: the cost of the ANN on this technology, in pJ
    mac = 4.6                   # (FP32: the standard baseline)
    activation = 0.0

    [ann_int8]                  # optional: the same ANN quantized to 8-bit integers, in pJ
    mac = 0.23
    activation = 0.0

    [graded]                    # optional: one graded synaptic op (integer weight x payload,
    mult_32 = 3.1               # then accumulate), priced from 32-bit integer figures in pJ;
    add_32 = 0.1                # see graded_op_pj. Without it a graded op costs synaptic_op.

    [chip]                      # optional
    static_power_w = 0.23       # W per chip (for a static share when a run time is given)

Missing or negative constants raise ``ValueError`` naming the file and the field. Built-in
profiles are registered on first use (nothing is read at import); add your own with
:func:`register_profile` (a path or an :class:`EnergyProfile`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lava_pinn.registry import Registry
from lava_pinn.validation import check_count

if sys.version_info >= (3, 11):  # pragma: no cover
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("measured", "estimated", "pre-silicon", "derived", "assumed")
SNN_FIELDS = (
    "synaptic_op",
    "analog_mac",
    "neuron_update",
    "neuron_update_active",
    "spike",
    "tile_hop",
)
ANN_FIELDS = ("mac", "activation")
ANN_INT8_FIELDS = ANN_FIELDS
GRADED_FIELDS = ("mult_32", "add_32")
CHIP_FIELDS = ("static_power_w",)
PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"


def _const(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number (pJ), got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{where} must be a finite, non-negative number, got {value!r}")
    return v


@dataclass(frozen=True)
class EnergyProfile:
    """Per-operation energies in pJ (SNN, optional ANN) with their provenance.

    ``kind`` says how far to trust the numbers: ``measured`` (on silicon), ``estimated`` (a
    model such as Horowitz's 45 nm table), ``pre-silicon`` (a design-time estimate), ``derived``
    (bounds worked out from published system figures, not per-operation measurements),
    ``assumed`` (a stand-in where no number is published).

    ``graded_mult_32`` / ``graded_add_32`` (pJ, both or neither: the ``[graded]`` table) price a
    graded synaptic op by operand width, see :func:`graded_op_pj`.
    """

    name: str
    kind: str
    source: str
    notes: str
    synaptic_op: float
    analog_mac: float
    neuron_update: float
    neuron_update_active: float
    spike: float
    tile_hop: float
    ann_mac: float | None = None
    ann_activation: float | None = None
    ann_int8_mac: float | None = None
    ann_int8_activation: float | None = None
    static_power_w: float | None = None
    path: str | None = None
    graded_mult_32: float | None = None
    graded_add_32: float | None = None

    def __post_init__(self) -> None:
        where = f"energy profile {self.name!r}" + (f" ({self.path})" if self.path else "")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"{where}: name must be a non-empty string")
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        for f in ("source", "notes"):
            if not isinstance(getattr(self, f), str):
                raise ValueError(f"{where}: {f} must be a string")
        if not self.source.strip():
            raise ValueError(f"{where}: source must cite where the constants come from")
        for f in SNN_FIELDS:
            object.__setattr__(self, f, _const(getattr(self, f), f"{where}: snn.{f}"))
        for f, sect in (
            ("ann_mac", "ann.mac"),
            ("ann_activation", "ann.activation"),
            ("ann_int8_mac", "ann_int8.mac"),
            ("ann_int8_activation", "ann_int8.activation"),
            ("graded_mult_32", "graded.mult_32"),
            ("graded_add_32", "graded.add_32"),
        ):
            if getattr(self, f) is not None:
                object.__setattr__(self, f, _const(getattr(self, f), f"{where}: {sect}"))
        if (self.ann_mac is None) != (self.ann_activation is None):
            raise ValueError(f"{where}: [ann] needs both 'mac' and 'activation' (pJ)")
        if (self.ann_int8_mac is None) != (self.ann_int8_activation is None):
            raise ValueError(f"{where}: [ann_int8] needs both 'mac' and 'activation' (pJ)")
        if (self.graded_mult_32 is None) != (self.graded_add_32 is None):
            raise ValueError(f"{where}: [graded] needs both 'mult_32' and 'add_32' (pJ)")
        if self.static_power_w is not None:
            object.__setattr__(
                self,
                "static_power_w",
                _const(self.static_power_w, f"{where}: chip.static_power_w"),
            )

    @property
    def defines_ann(self) -> bool:
        """Whether the profile prices the ANN in FP32 (an ``[ann]`` table)."""
        return self.ann_mac is not None

    @property
    def defines_ann_int8(self) -> bool:
        """Whether the profile prices the ANN quantized to INT8 (an ``[ann_int8]`` table)."""
        return self.ann_int8_mac is not None

    @property
    def defines_graded(self) -> bool:
        """Whether the profile prices a graded op by operand width (a ``[graded]`` table)."""
        return self.graded_mult_32 is not None

    def constants(self) -> dict[str, float]:
        """The constants :func:`~hardware.energy.estimate.estimate` uses, flat: ``snn.*`` and
        ``ann.*`` in pJ, ``chip.*`` in W (``graded.*`` is listed by ``estimate_delta``)."""
        out = {f"snn.{f}": getattr(self, f) for f in SNN_FIELDS}
        if self.defines_ann:
            out["ann.mac"] = self.ann_mac
            out["ann.activation"] = self.ann_activation
        if self.defines_ann_int8:
            out["ann_int8.mac"] = self.ann_int8_mac
            out["ann_int8.activation"] = self.ann_int8_activation
        if self.static_power_w is not None:
            out["chip.static_power_w"] = self.static_power_w
        return out


def _section(data: dict, key: str, fields: tuple[str, ...], where: str, required: bool) -> dict:
    sect = data.get(key)
    if sect is None:
        if required:
            raise ValueError(f"{where}: missing table [{key}] with fields {', '.join(fields)}")
        return {}
    if not isinstance(sect, dict):
        raise ValueError(f"{where}: [{key}] must be a table")
    unknown = sorted(set(sect) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {key}.{', '.join(unknown)}; known: {fields}")
    if required or key in ("ann", "ann_int8", "graded"):
        missing = [f for f in fields if f not in sect]
        if missing:
            raise ValueError(f"{where}: missing field {key}.{missing[0]} (constant in pJ)")
    return {f: _const(sect[f], f"{where}: {key}.{f}") for f in fields if f in sect}


def profile_from_dict(data: dict[str, Any], where: str = "<dict>") -> EnergyProfile:
    """Validate a parsed profile (the TOML layout of this module's docstring)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a profile must be a table, got {type(data).__name__}")
    top = ("name", "kind", "source", "notes", "snn", "ann", "ann_int8", "graded", "chip")
    unknown = sorted(set(data) - set(top))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {top}")
    for f in ("name", "kind", "source"):
        if f not in data:
            raise ValueError(f"{where}: missing field {f!r}")
        if not isinstance(data[f], str) or not data[f].strip():
            raise ValueError(f"{where}: field {f!r} must be a non-empty string")
    if data["kind"] not in KINDS:
        raise ValueError(f"{where}: field 'kind' must be one of {KINDS}, got {data['kind']!r}")
    snn = _section(data, "snn", SNN_FIELDS, where, required=True)
    ann = _section(data, "ann", ANN_FIELDS, where, required=False)
    ann8 = _section(data, "ann_int8", ANN_INT8_FIELDS, where, required=False)
    graded = _section(data, "graded", GRADED_FIELDS, where, required=False)
    chip = _section(data, "chip", CHIP_FIELDS, where, required=False)
    return EnergyProfile(
        name=data["name"].strip().lower(),
        kind=data["kind"],
        source=data["source"],
        notes=str(data.get("notes", "")),
        **snn,
        ann_mac=ann.get("mac"),
        ann_activation=ann.get("activation"),
        ann_int8_mac=ann8.get("mac"),
        ann_int8_activation=ann8.get("activation"),
        static_power_w=chip.get("static_power_w"),
        path=None if where == "<dict>" else where,
        graded_mult_32=graded.get("mult_32"),
        graded_add_32=graded.get("add_32"),
    )


def load_profile(path: str | Path) -> EnergyProfile:
    """Read and validate one profile file; errors name the file and the field."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"energy profile file {path} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {err}") from None
    return profile_from_dict(data, str(path))


_PROFILES: Registry[EnergyProfile] = Registry("energy profile")
_LOADED: list[bool] = []


def profiles() -> Registry[EnergyProfile]:
    """The profile registry, with the built-in files loaded on first call."""
    if not _LOADED:
        _LOADED.append(True)
        for p in sorted(PROFILE_DIR.glob("*.toml")):
            prof = load_profile(p)
            if prof.name not in _PROFILES:
                _PROFILES.register(prof.name, prof)
    return _PROFILES


def register_profile(
    profile: EnergyProfile | str | Path, *, replace: bool = False
) -> EnergyProfile:
    """Register an :class:`EnergyProfile` or a profile file under its ``name``."""
    if not isinstance(profile, EnergyProfile):
        profile = load_profile(profile)
    profiles().register(profile.name, profile, replace=replace)
    return profile


def get_profile(name: str | EnergyProfile) -> EnergyProfile:
    """Look a profile up by name (``KeyError`` lists those available); profiles pass through."""
    if isinstance(name, EnergyProfile):
        return name
    return profiles().get(name)


def available_profiles() -> list[str]:
    return profiles().available()


def graded_op_pj(
    profile: str | EnergyProfile, weight_bits: int, payload_bits: int, acc_bits: int = 24
) -> float:
    """Energy of one graded synaptic op (weight x payload, then accumulate), in pJ.

    With a ``[graded]`` table (32-bit integer multiply ``mult_32`` and add ``add_32``, pJ)::

        e_graded = mult_32 * (weight_bits * payload_bits) / (32 * 32) + add_32 * acc_bits / 32

    i.e. the multiply scales with the product of the operand widths (array multiplier) and the
    add with the accumulator width. On ``cmos-45nm`` (Horowitz, ISSCC 2014): 8 x 8 bits, 24-bit
    accumulator -> 0.19 + 0.075 pJ; 8 x 16, 24 -> 0.3875 + 0.075 = 0.4625 pJ.

    A profile without ``[graded]`` prices a graded op as one ``synaptic_op``, whatever the
    widths (the Loihi 2 bounds: Intel's rate counts 8-bit synaptic ops; a wider payload may cost
    more than this). Widths are integers >= 1 (``ValueError`` naming the argument otherwise).
    """
    prof = get_profile(profile)
    wb = check_count(weight_bits, "weight_bits")
    pb = check_count(payload_bits, "payload_bits")
    acc = check_count(acc_bits, "acc_bits")
    if not prof.defines_graded:
        return float(prof.synaptic_op)
    return float(prof.graded_mult_32 * (wb * pb) / (32 * 32) + prof.graded_add_32 * acc / 32)
