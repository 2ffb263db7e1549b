"""Energy per inference, per layer, for the SNN and its ANN baseline, under named profiles.

SNN, per layer and per inference, in pJ (``e_*`` are a profile's constants)::

    E_syn    = Effective_ACs * e_synaptic_op + Effective_MACs * e_analog_mac
    E_neuron = (updates - active) * e_neuron_update + active * e_neuron_update_active
    E_spike  = spikes * (e_spike + hops_per_spike * e_tile_hop)
    E_layer  = E_syn + E_neuron + E_spike

ANN, per layer: ``E = MACs * e_ann_mac + activations * e_ann_activation``, computed with the
profile's own ``[ann]`` table, or with ``ann_profile`` (default ``cmos-45nm``) where the profile
defines no ANN cost, so the ANN baseline is always reported beside the SNN, with the profile
that priced it. That baseline is the ANN in FP32; the same ANN quantized to INT8 is priced the
same way from an ``[ann_int8]`` table (the profile's own, else ``ann_profile``'s; ``cmos-45nm``:
0.23 pJ per MAC) and reported beside it, so every SNN energy stands next to both. An optional
static share is ``static_power_w * seconds_per_inference`` (J).
Joules per inference are ``pJ * 1e-12``.

Graded-spike (sigma-delta) networks, counted in :class:`~hardware.energy.counts.DeltaOps`, are
priced by :func:`estimate_delta` with the same ANN baselines (see :func:`delta_layer_energy`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hardware.activity import OUTPUT, ANNSpec, SNNActivity
from hardware.energy.counts import (
    DeltaLayerOps,
    DeltaOps,
    LayerOps,
    OperationCounts,
    count_operations,
)
from hardware.energy.measured import MeasuredEnergy
from hardware.energy.profiles import EnergyProfile, get_profile, graded_op_pj

DEFAULT_PROFILES = ("loihi2", "loihi", "cmos-45nm")  # committed results were priced with these
# graded-spike (sigma-delta) reports: the 45 nm model, the two Loihi 2 bounds, Loihi (2018)
DELTA_PROFILES = ("cmos-45nm", "loihi2-lower", "loihi2-upper", "loihi")
DELTA_SNN_FIELDS = ("synaptic_op", "neuron_update", "spike", "tile_hop")
PJ = 1e-12  # J per pJ


@dataclass(frozen=True)
class LayerEnergy:
    """Energy of one layer per inference, in pJ, split by what it is spent on."""

    name: str
    synaptic_pj: float
    neuron_pj: float
    spike_pj: float

    @property
    def total_pj(self) -> float:
        return self.synaptic_pj + self.neuron_pj + self.spike_pj

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "synaptic_pj": self.synaptic_pj,
            "neuron_pj": self.neuron_pj,
            "spike_pj": self.spike_pj,
            "total_pj": self.total_pj,
        }


def snn_layer_energy(
    effective_acs: float,
    effective_macs: float,
    neuron_updates: float,
    active_updates: float,
    spikes: float,
    profile: EnergyProfile,
    hops_per_spike: float = 1.0,
    name: str = "",
) -> LayerEnergy:
    """Energy of one SNN layer from its counts (pure; see the module docstring)."""
    syn = effective_acs * profile.synaptic_op + effective_macs * profile.analog_mac
    neu = (neuron_updates - active_updates) * profile.neuron_update
    neu += active_updates * profile.neuron_update_active
    spk = spikes * (profile.spike + hops_per_spike * profile.tile_hop)
    return LayerEnergy(name, float(syn), float(neu), float(spk))


def ann_layer_energy(
    macs: float, activations: float, profile: EnergyProfile, name: str = ""
) -> LayerEnergy:
    """Energy of one ANN layer: ``MACs * e_mac + activations * e_activation`` (pJ)."""
    if not profile.defines_ann:
        raise ValueError(
            f"energy profile {profile.name!r} defines no ANN cost ([ann] table); "
            "price the ANN with a profile that does (e.g. 'cmos-45nm')"
        )
    return LayerEnergy(
        name, float(macs * profile.ann_mac), float(activations * profile.ann_activation), 0.0
    )


@dataclass(frozen=True)
class EnergyEstimate:
    """SNN and ANN energy per inference under one profile, with the constants it used."""

    profile: str
    kind: str
    source: str
    constants: tuple[tuple[str, float], ...]
    snn_layers: tuple[LayerEnergy, ...]
    ann_layers: tuple[LayerEnergy, ...]
    ann_profile: str
    ann_kind: str
    ann_source: str
    hops_per_spike: float
    static_pj: float | None = None
    ann_int8_layers: tuple[LayerEnergy, ...] | None = None  # None: no INT8 price known
    ann_int8_profile: str | None = None
    ann_int8_kind: str | None = None
    ann_int8_source: str | None = None

    @property
    def snn_total_pj(self) -> float:
        return float(sum(la.total_pj for la in self.snn_layers))

    @property
    def ann_total_pj(self) -> float:
        return float(sum(la.total_pj for la in self.ann_layers))

    @property
    def snn_total_j(self) -> float:
        return self.snn_total_pj * PJ

    @property
    def ann_total_j(self) -> float:
        return self.ann_total_pj * PJ

    @property
    def ann_int8_total_pj(self) -> float | None:
        if self.ann_int8_layers is None:
            return None
        return float(sum(la.total_pj for la in self.ann_int8_layers))

    @property
    def ann_int8_total_j(self) -> float | None:
        v = self.ann_int8_total_pj
        return None if v is None else v * PJ

    @property
    def ratio_ann_over_snn(self) -> float:
        """How many times less energy the SNN needs than the FP32 ANN (``> 1``: the SNN wins)."""
        return self.ann_total_pj / self.snn_total_pj if self.snn_total_pj > 0 else float("inf")

    @property
    def ratio_ann_int8_over_snn(self) -> float | None:
        """The same against the INT8 ANN (``None`` where no INT8 price is known)."""
        a = self.ann_int8_total_pj
        if a is None:
            return None
        return a / self.snn_total_pj if self.snn_total_pj > 0 else float("inf")

    @property
    def snn_over_ann(self) -> float:
        """How many times the FP32 ANN's energy the SNN costs (``> 1``: the SNN loses)."""
        return _ratio(self.snn_total_pj, self.ann_total_pj)

    @property
    def snn_over_ann_int8(self) -> float | None:
        """How many times the INT8 ANN's energy the SNN costs (``> 1``: the SNN loses)."""
        a = self.ann_int8_total_pj
        return None if a is None else _ratio(self.snn_total_pj, a)

    @property
    def verdict(self) -> str:
        """The comparison in words: ``"SNN costs 122x the FP32 ANN, 2,440x the INT8 ANN"``."""
        parts = [_times(self.snn_over_ann, "FP32")]
        if self.snn_over_ann_int8 is not None:
            p8 = _times(self.snn_over_ann_int8, "INT8")
            both = parts[0].startswith("costs ") and p8.startswith("costs ")
            parts.append(p8.removeprefix("costs ") if both else p8)
        return "SNN " + ", ".join(parts)

    def to_dict(self) -> dict:
        return {
            "profile": self.profile,
            "kind": self.kind,
            "source": self.source,
            "constants": dict(self.constants),
            "hops_per_spike": self.hops_per_spike,
            "snn_total_pj": self.snn_total_pj,
            "snn_total_j": self.snn_total_j,
            "snn_layers": [la.to_dict() for la in self.snn_layers],
            "ann_profile": self.ann_profile,
            "ann_kind": self.ann_kind,
            "ann_source": self.ann_source,
            "ann_total_pj": self.ann_total_pj,
            "ann_total_j": self.ann_total_j,
            "ann_layers": [la.to_dict() for la in self.ann_layers],
            "ratio_ann_over_snn": self.ratio_ann_over_snn,
            "static_pj": self.static_pj,
            "ann_precision": "fp32",
            "ann_int8_profile": self.ann_int8_profile,
            "ann_int8_kind": self.ann_int8_kind,
            "ann_int8_source": self.ann_int8_source,
            "ann_int8_total_pj": self.ann_int8_total_pj,
            "ann_int8_total_j": self.ann_int8_total_j,
            "ann_int8_layers": (
                None
                if self.ann_int8_layers is None
                else [la.to_dict() for la in self.ann_int8_layers]
            ),
            "ratio_ann_int8_over_snn": self.ratio_ann_int8_over_snn,
            "snn_over_ann": self.snn_over_ann,
            "snn_over_ann_int8": self.snn_over_ann_int8,
            "verdict": self.verdict,
        }


def _ratio(a: float, b: float) -> float:
    if b > 0:
        return a / b
    return float("inf") if a > 0 else 1.0


def _times(r: float, what: str) -> str:
    """``costs 122x the FP32 ANN`` or ``costs 0.31x the INT8 ANN``: the SNN's energy over the
    ANN's, one way of writing for either side of 1."""
    if r != r or r == float("inf"):
        return f"costs inf x the {what} ANN"
    if r == 0:
        return f"costs nothing beside the {what} ANN"
    return f"costs {_fmt_times(r)}x the {what} ANN"


def _fmt_times(r: float) -> str:
    """3 significant figures, thousands separated: 0.0302, 2.44, 122, 2,440, 1.23e+06."""
    if r >= 1e6:
        return f"{r:.3g}"
    v = float(f"{r:.3g}")
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def _ann_from_activity(activity: SNNActivity) -> ANNSpec:
    widths = (activity.layers[0].n_in, *(la.n_out for la in activity.layers))
    return ANNSpec(widths)


def estimate(
    ops: OperationCounts,
    ann: ANNSpec,
    profile: str | EnergyProfile,
    *,
    ann_profile: str | EnergyProfile = "cmos-45nm",
    hops_per_spike: float = 1.0,
    seconds_per_inference: float | None = None,
) -> EnergyEstimate:
    """Price ``ops`` (SNN) and ``ann`` under one profile (see the module docstring)."""
    prof = get_profile(profile)
    if hops_per_spike < 0:
        raise ValueError(f"hops_per_spike must be >= 0, got {hops_per_spike}")
    snn = tuple(
        snn_layer_energy(
            la.effective_acs,
            la.effective_macs,
            la.neuron_updates,
            la.active_updates,
            la.spikes,
            prof,
            0.0 if la.neuron == OUTPUT else hops_per_spike,
            la.name,
        )
        for la in ops.layers
    )
    base, _, _ = _ann_baselines(ann, prof, ann_profile, [la.name for la in ops.layers])
    static = None
    if seconds_per_inference is not None:
        if seconds_per_inference < 0:
            raise ValueError(f"seconds_per_inference must be >= 0, got {seconds_per_inference}")
        if prof.static_power_w is not None:
            static = prof.static_power_w * seconds_per_inference / PJ
    return EnergyEstimate(
        profile=prof.name,
        kind=prof.kind,
        source=prof.source,
        constants=tuple(prof.constants().items()),
        snn_layers=snn,
        hops_per_spike=float(hops_per_spike),
        static_pj=static,
        **base,
    )


def _ann_baselines(
    ann: ANNSpec, prof: EnergyProfile, ann_profile: str | EnergyProfile, snn_names: Sequence[str]
) -> tuple[dict, EnergyProfile, EnergyProfile | None]:
    """The FP32 and INT8 ANN baselines of one estimate: :class:`EnergyEstimate` fields, and the
    profiles that priced them (FP32, INT8 or ``None``).

    FP32 from ``prof``'s ``[ann]`` table, else ``ann_profile``'s; INT8 likewise from
    ``[ann_int8]`` (``None`` where neither has one). ANN layers take the SNN's layer names
    where the two have as many layers, else ``layer1, layer2, ...``.
    """
    fallback = get_profile(ann_profile)
    aprof = prof if prof.defines_ann else fallback
    names = [f"layer{k + 1}" for k in range(len(ann.macs_per_layer))]
    if len(names) == len(snn_names):
        names = list(snn_names)
    per_layer = list(zip(ann.macs_per_layer, ann.activations_per_layer, names, strict=True))
    ann_layers = tuple(ann_layer_energy(m, a, aprof, nm) for m, a, nm in per_layer)
    a8 = prof if prof.defines_ann_int8 else fallback if fallback.defines_ann_int8 else None
    ann8_layers = None
    if a8 is not None:
        ann8_layers = tuple(
            LayerEnergy(nm, float(m * a8.ann_int8_mac), float(a * a8.ann_int8_activation), 0.0)
            for m, a, nm in per_layer
        )
    fields = {
        "ann_layers": ann_layers,
        "ann_profile": aprof.name,
        "ann_kind": aprof.kind,
        "ann_source": aprof.source,
        "ann_int8_layers": ann8_layers,
        "ann_int8_profile": None if a8 is None else a8.name,
        "ann_int8_kind": None if a8 is None else a8.kind,
        "ann_int8_source": None if a8 is None else a8.source,
    }
    return fields, aprof, a8


def graded_op_key(weight_bits: int, payload_bits: int, acc_bits: int) -> str:
    """The name under which an estimate lists one graded op's pJ: ``graded_op[w8xp16,acc24]``."""
    return f"graded_op[w{weight_bits}xp{payload_bits},acc{acc_bits}]"


def delta_layer_energy(la: DeltaLayerOps, profile: EnergyProfile) -> LayerEnergy:
    """Energy of one graded-spike layer per inference, in pJ (pure)::

        E_syn    = synops * e_graded(weight_bits, payload_bits, acc_bits)
                   + binary_synops * e_synaptic_op
        E_neuron = neuron_updates * e_neuron_update
        E_msg    = messages * (e_spike + e_tile_hop)       (one router hop per message)

    ``e_graded`` is :func:`~hardware.energy.profiles.graded_op_pj`. Every neuron-step is priced
    at ``neuron_update`` (no active/inactive split: on ``loihi`` that is the lower, 52 pJ,
    figure). The messages are those sent into this layer, so their cost is booked here.
    """
    e_g = graded_op_pj(profile, la.weight_bits, la.payload_bits, la.acc_bits)
    syn = la.synops * e_g + la.binary_synops * profile.synaptic_op
    neu = la.neuron_updates * profile.neuron_update
    msg = la.messages * (profile.spike + profile.tile_hop)
    return LayerEnergy(la.name, float(syn), float(neu), float(msg))


def estimate_delta(
    ops: DeltaOps,
    ann: ANNSpec,
    profile: str | EnergyProfile,
    *,
    ann_profile: str | EnergyProfile = "cmos-45nm",
) -> EnergyEstimate:
    """Price a graded-spike (sigma-delta) network's ``ops`` and its ``ann`` under one profile.

    Per layer, in pJ per inference (see :func:`delta_layer_energy`)::

        E = synops * e_graded(wb, pb, acc) + binary_synops * e_synaptic_op
            + neuron_updates * e_neuron_update + messages * (e_spike + e_tile_hop)

    The FP32 and INT8 ANN baselines are priced as in :func:`estimate`, so ``verdict``,
    ``snn_over_ann`` and ``snn_over_ann_int8`` read the same. ``constants`` lists what was used:
    ``snn.synaptic_op``, ``snn.neuron_update``, ``snn.spike``, ``snn.tile_hop``, the profile's
    ``graded.*`` (if it has a ``[graded]`` table), one ``graded_op[w..xp..,acc..]`` per width
    combination priced, and the ANN constants as ``ann.mac[<profile>]`` etc. (all pJ).
    """
    if not isinstance(ops, DeltaOps):
        raise TypeError(f"ops must be a DeltaOps, got {type(ops).__name__}")
    if not isinstance(ann, ANNSpec):
        raise TypeError(f"ann must be an ANNSpec, got {type(ann).__name__}")
    prof = get_profile(profile)
    snn = tuple(delta_layer_energy(la, prof) for la in ops.layers)
    base, aprof, a8 = _ann_baselines(ann, prof, ann_profile, [la.name for la in ops.layers])
    consts = {f"snn.{f}": getattr(prof, f) for f in DELTA_SNN_FIELDS}
    if prof.defines_graded:
        consts["graded.mult_32"] = prof.graded_mult_32
        consts["graded.add_32"] = prof.graded_add_32
    for la in ops.layers:
        key = graded_op_key(la.weight_bits, la.payload_bits, la.acc_bits)
        consts[key] = graded_op_pj(prof, la.weight_bits, la.payload_bits, la.acc_bits)
    consts[f"ann.mac[{aprof.name}]"] = aprof.ann_mac
    consts[f"ann.activation[{aprof.name}]"] = aprof.ann_activation
    if a8 is not None:
        consts[f"ann_int8.mac[{a8.name}]"] = a8.ann_int8_mac
        consts[f"ann_int8.activation[{a8.name}]"] = a8.ann_int8_activation
    return EnergyEstimate(
        profile=prof.name,
        kind=prof.kind,
        source=prof.source,
        constants=tuple(consts.items()),
        snn_layers=snn,
        hops_per_spike=1.0,
        **base,
    )


@dataclass(frozen=True)
class EnergyReport:
    """Everything a report shows: counts, the ANN, estimates per profile, errors, measurements.

    ``errors`` maps a name (``"u"``, ``"rel_l2"``, ...) to an error value shown next to the
    energy; ``measured`` holds :class:`~hardware.energy.measured.MeasuredEnergy` records.
    """

    label: str
    ops: OperationCounts
    ann: ANNSpec
    estimates: tuple[EnergyEstimate, ...]
    errors: tuple[tuple[str, float], ...] = ()
    measured: tuple[MeasuredEnergy, ...] = ()
    assumptions: tuple[str, ...] = ()

    def estimate_for(self, profile: str) -> EnergyEstimate:
        for e in self.estimates:
            if e.profile == profile.strip().lower():
                return e
        raise KeyError(
            f"no estimate for profile {profile!r}; this report has "
            f"{', '.join(e.profile for e in self.estimates)}"
        )

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "T": self.ops.T,
            "n_samples": self.ops.n_samples,
            "errors": dict(self.errors),
            "assumptions": list(self.assumptions),
            "snn": self.ops.to_dict(),
            "ann": {
                "widths": list(self.ann.widths),
                "activation": self.ann.activation,
                "MACs": self.ann.macs,
                "Dense_MACs": self.ann.dense_macs,
                "activations": self.ann.activations,
                "macs_per_layer": list(self.ann.macs_per_layer),
            },
            "estimates": [e.to_dict() for e in self.estimates],
            "measured": [m.to_dict() for m in self.measured],
        }


def report_from_dict(
    data: Mapping, profiles: Sequence[str | EnergyProfile] | None = None
) -> EnergyReport:
    """Rebuild an :class:`EnergyReport` from its ``to_dict()`` (e.g. a committed JSON file).

    The stored *counts* (per layer, per inference) and the ANN are read back and priced again
    under ``profiles`` (default: those of the stored estimates, by name, with their stored
    ``hops_per_spike`` and ANN profile), so results written before a baseline existed (the
    INT8 ANN) gain it without re-running the network. Static energy (which needs the run time)
    and board measurements are not carried over.
    """
    snn = data["snn"]
    fields = LayerOps.__dataclass_fields__
    layers = tuple(LayerOps(**{k: v for k, v in la.items() if k in fields}) for la in snn["layers"])
    ops = OperationCounts(
        layers=layers,
        T=int(snn["T"]),
        n_samples=int(snn["n_samples"]),
        activation_sparsity=float(snn["activation_sparsity"]),
        analog_every_step=bool(snn.get("analog_every_step", True)),
        source=str(snn.get("source", "unspecified")),
    )
    a = data["ann"]
    widths = tuple(int(w) for w in a["widths"])
    dense = [widths[k] * widths[k + 1] for k in range(len(widths) - 1)]
    macs = [int(m) for m in a.get("macs_per_layer", dense)]
    ann = ANNSpec(widths, a.get("activation", "tanh"), None if macs == dense else tuple(macs))
    stored = list(data.get("estimates", []))
    hops = float(stored[0].get("hops_per_spike", 1.0)) if stored else 1.0
    ann_profile = stored[0].get("ann_profile", "cmos-45nm") if stored else "cmos-45nm"
    if profiles is None:
        profiles = [e["profile"] for e in stored] or list(DEFAULT_PROFILES)
    ests = tuple(
        estimate(ops, ann, p, ann_profile=ann_profile, hops_per_spike=hops) for p in profiles
    )
    errs = tuple((str(k), float(v)) for k, v in data.get("errors", {}).items())
    return EnergyReport(
        str(data.get("label", "")), ops, ann, ests, errs, (), tuple(data.get("assumptions", ()))
    )


def estimate_energy(
    activity: SNNActivity,
    ann: ANNSpec | None = None,
    profiles: Sequence[str | EnergyProfile] = DEFAULT_PROFILES,
    *,
    ann_profile: str | EnergyProfile = "cmos-45nm",
    hops_per_spike: float = 1.0,
    analog_every_step: bool = True,
    seconds_per_inference: float | None = None,
    errors: Mapping[str, float] | None = None,
    measured: Sequence[MeasuredEnergy] = (),
    label: str = "",
) -> EnergyReport:
    """Count operations of ``activity`` and price them under each profile.

    ``ann`` defaults to a dense MLP with the SNN's layer sizes. ``hops_per_spike`` is the mean
    number of router hops a spike crosses (placement is unknown here: 1 assumes consecutive
    layers on neighbouring cores). Returns an :class:`EnergyReport` whose ``assumptions`` list
    every choice that is not a measured fact.
    """
    if isinstance(profiles, (str, EnergyProfile)):
        profiles = (profiles,)
    ops = count_operations(activity, analog_every_step=analog_every_step)
    assumptions = [
        "SNN counts are measured spike counts of this run"
        + (f" ({activity.source})" if activity.source != "unspecified" else ""),
        f"{hops_per_spike:g} router hop(s) per spike (placement not known)",
        "first layer: analog input x weight counted as MACs "
        + ("every step (direct encoding)" if analog_every_step else "once (held current)"),
        "a neuron update is 'active' in a step where the neuron spikes",
        "bias additions, input encoding on the host and output readout are not counted",
    ]
    if ann is None:
        ann = _ann_from_activity(activity)
        assumptions.append("ANN widths taken from the SNN layer sizes (dense weights)")
    ests = tuple(
        estimate(
            ops,
            ann,
            p,
            ann_profile=ann_profile,
            hops_per_spike=hops_per_spike,
            seconds_per_inference=seconds_per_inference,
        )
        for p in profiles
    )
    errs = tuple((str(k), float(v)) for k, v in (errors or {}).items())
    return EnergyReport(label, ops, ann, ests, errs, tuple(measured), tuple(assumptions))
