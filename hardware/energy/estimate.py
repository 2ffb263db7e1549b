"""Energy per inference, per layer, for the SNN and its ANN baseline, under named profiles.

SNN, per layer and per inference, in pJ (``e_*`` are a profile's constants)::

    E_syn    = Effective_ACs * e_synaptic_op + Effective_MACs * e_analog_mac
    E_neuron = (updates - active) * e_neuron_update + active * e_neuron_update_active
    E_spike  = spikes * (e_spike + hops_per_spike * e_tile_hop)
    E_layer  = E_syn + E_neuron + E_spike

ANN, per layer: ``E = MACs * e_ann_mac + activations * e_ann_activation``, computed with the
profile's own ``[ann]`` table, or with ``ann_profile`` (default ``cmos-45nm``) where the profile
defines no ANN cost, so the ANN baseline is always reported beside the SNN, with the profile
that priced it. An optional static share is ``static_power_w * seconds_per_inference`` (J).
Joules per inference are ``pJ * 1e-12``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hardware.activity import OUTPUT, ANNSpec, SNNActivity
from hardware.energy.counts import OperationCounts, count_operations
from hardware.energy.measured import MeasuredEnergy
from hardware.energy.profiles import EnergyProfile, get_profile

DEFAULT_PROFILES = ("loihi2", "loihi", "cmos-45nm")
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
    def ratio_ann_over_snn(self) -> float:
        """How many times less energy the SNN needs than the ANN (``> 1``: the SNN wins)."""
        return self.ann_total_pj / self.snn_total_pj if self.snn_total_pj > 0 else float("inf")

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
        }


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
    aprof = prof if prof.defines_ann else get_profile(ann_profile)
    names = [f"layer{k + 1}" for k in range(len(ann.macs_per_layer))]
    if len(names) == len(ops.layers):
        names = [la.name for la in ops.layers]
    ann_layers = tuple(
        ann_layer_energy(m, a, aprof, nm)
        for m, a, nm in zip(ann.macs_per_layer, ann.activations_per_layer, names, strict=True)
    )
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
        ann_layers=ann_layers,
        ann_profile=aprof.name,
        ann_kind=aprof.kind,
        ann_source=aprof.source,
        hops_per_spike=float(hops_per_spike),
        static_pj=static,
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
