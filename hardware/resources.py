"""Loihi 2 resource check: does a dense-layer chain fit, and on how many cores and chips?

Mapping model (a deliberately simple, conservative stand-in for Intel's compiler, whose
partitioner is not public): every layer gets its own cores; a layer's ``n_out`` neurons are
split evenly over ``c`` cores, each core holding the synapses *into* its neurons, so

    c = max(ceil(n_out / neurons_per_core), ceil(synapse_bits / synaptic_memory_bits_per_core))

with ``synapse_bits = min(n_in * n_out * w_bits, nnz * (w_bits + ceil(log2 n_in)))`` (dense
storage, or sparse storage with a per-synapse index, whichever is smaller; Intel's synapse
encodings are not public). Splitting a layer over cores does not reduce its fan-in: every core
of the layer must receive all ``n_in`` inputs, so ``n_in > fan_in_per_core`` cannot be mapped.

The limits and where each comes from are in :data:`LOIHI2` (``sources``). Everything the chip
cannot take is reported with ``warnings.warn`` and in :attr:`ResourceReport.violations`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from hardware.activity import weight_groups
from lava_pinn._warnings import outside
from lava_pinn.neurons import get_neuron
from lava_pinn.validation import check_count


class LoihiResourceWarning(UserWarning):
    """A network exceeds a Loihi 2 limit."""


@dataclass(frozen=True)
class ChipLimits:
    """Per-core and per-chip limits with their provenance (``sources``: field -> citation)."""

    name: str
    neurons_per_core: int
    synaptic_memory_bits_per_core: int
    fan_in_per_core: int
    fan_out_per_core: int
    max_weight_bits: int
    cores_per_chip: int
    neurons_per_chip: int
    synapses_per_chip: int
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for f in (
            "neurons_per_core",
            "synaptic_memory_bits_per_core",
            "fan_in_per_core",
            "fan_out_per_core",
            "max_weight_bits",
            "cores_per_chip",
            "neurons_per_chip",
            "synapses_per_chip",
        ):
            v = getattr(self, f)
            check_count(v, f"ChipLimits.{f}")

    def source(self, field: str) -> str:
        return dict(self.sources).get(field, "not stated")


_PUBLIC = "public: Intel, Loihi 2 technology brief (2021) and Intel's Loihi 2 announcement"
LOIHI2 = ChipLimits(
    name="loihi2",
    neurons_per_core=8192,
    synaptic_memory_bits_per_core=128 * 1024 * 8,
    fan_in_per_core=4096,
    fan_out_per_core=4096,
    max_weight_bits=8,
    cores_per_chip=128,
    neurons_per_chip=1_000_000,
    synapses_per_chip=120_000_000,
    sources=(
        (
            "neurons_per_core",
            "assumed: 8192, the commonly quoted maximum neurons per Loihi 2 core (Intel brief, "
            "2021, as quoted by secondary sources); the real limit depends on neuron state size",
        ),
        (
            "synaptic_memory_bits_per_core",
            "assumed: 128 KiB of synaptic memory per core (Loihi 1: 128 KB, Davies et al. 2018; "
            "Loihi 2 cores hold about 192 KB shared flexibly by synapses, neuron state and "
            "routing, per secondary sources); Intel's exact Loihi 2 split is not public",
        ),
        (
            "fan_in_per_core",
            "assumed: 4096 input axons per core, the Loihi 1 figure (Davies et al., IEEE Micro "
            "2018); Loihi 2's limit is not public",
        ),
        (
            "fan_out_per_core",
            "assumed: 4096 output axon routes per core, the Loihi 1 figure (Davies et al. 2018)",
        ),
        (
            "max_weight_bits",
            "lava-nc 0.10.0 Dense (fixed_pt): weights are clipped to 8 bits (num_weight_bits <= 8)",
        ),
        ("cores_per_chip", _PUBLIC + ": 128 neuromorphic cores"),
        ("neurons_per_chip", _PUBLIC + ": up to 1M neurons"),
        ("synapses_per_chip", _PUBLIC + ": up to 120M synapses"),
    ),
)


@dataclass(frozen=True)
class LayerShape:
    """What the resource check needs of one layer (build with :meth:`from_weight`)."""

    name: str
    n_in: int
    n_out: int
    nonzeros: int
    max_fan_in: int  # most nonzeros in one row (synapses into one neuron)
    max_fan_out: int  # most nonzeros in one column (synapses out of one source)
    weight_bits: int
    neuron: str = "lif-hard"
    analog_input: bool = False
    groups: int = 1  # Dense weight groups per connection (each a synapse of weight_bits)

    def __post_init__(self) -> None:
        for f in ("n_in", "n_out", "weight_bits", "groups"):
            v = getattr(self, f)
            check_count(v, f"LayerShape({self.name}).{f}")
        g = self.groups
        if not 0 <= self.nonzeros <= g * self.n_in * self.n_out:
            raise ValueError(
                f"LayerShape({self.name}).nonzeros={self.nonzeros} must lie in "
                f"[0, groups*n_in*n_out={g * self.n_in * self.n_out}]"
            )
        if not 0 <= self.max_fan_in <= g * self.n_in or not 0 <= self.max_fan_out <= g * self.n_out:
            raise ValueError(
                f"LayerShape({self.name}): max_fan_in must lie in [0, groups*n_in] and "
                "max_fan_out in [0, groups*n_out]"
            )

    @classmethod
    def from_weight(
        cls,
        name: str,
        weight: object,
        weight_bits: int = 8,
        neuron: str = "lif-hard",
        analog_input: bool = False,
    ) -> LayerShape:
        """``weight``: ``(n_out, n_in)``, or a tuple of such matrices (one connection's weight
        groups, :class:`exporters.intnet.IntLayer`; their synapses add up)."""
        ws = weight_groups(weight, f"LayerShape({name})")
        nz = sum((w != 0).astype(np.int64) for w in ws)
        return cls(
            name=name,
            n_in=int(ws[0].shape[1]),
            n_out=int(ws[0].shape[0]),
            nonzeros=int(nz.sum()),
            max_fan_in=int(nz.sum(axis=1).max(initial=0)),
            max_fan_out=int(nz.sum(axis=0).max(initial=0)),
            weight_bits=int(weight_bits),
            neuron=neuron,
            analog_input=analog_input,
            groups=len(ws),
        )

    def synapse_bits(self) -> int:
        """Synaptic memory: the smaller of dense and index-sparse storage (bits)."""
        dense = self.groups * self.n_in * self.n_out * self.weight_bits
        index = max(1, math.ceil(math.log2(self.n_in))) if self.n_in > 1 else 1
        sparse = self.nonzeros * (self.weight_bits + index)
        return int(min(dense, sparse))


@dataclass(frozen=True)
class LayerMapping:
    name: str
    n_in: int
    n_out: int
    synapses: int
    synapse_bits: int
    weight_bits: int
    cores: int
    neurons_per_core: int
    synapse_bits_per_core: int
    fan_in: int
    fan_out: int
    neuron: str


@dataclass(frozen=True)
class ResourceReport:
    """The mapping of every layer, totals, the limits used and what does not fit."""

    limits: ChipLimits
    layers: tuple[LayerMapping, ...]
    violations: tuple[str, ...]
    notes: tuple[str, ...]
    requirements: tuple[str, ...] = ()

    @property
    def cores(self) -> int:
        return sum(la.cores for la in self.layers)

    @property
    def neurons(self) -> int:
        return sum(la.n_out for la in self.layers)

    @property
    def synapses(self) -> int:
        return sum(la.synapses for la in self.layers)

    @property
    def chips(self) -> int:
        lim = self.limits
        return max(
            math.ceil(self.cores / lim.cores_per_chip),
            math.ceil(self.neurons / lim.neurons_per_chip),
            math.ceil(self.synapses / lim.synapses_per_chip),
            1,
        )

    @property
    def fits(self) -> bool:
        """No capacity limit exceeded (``requirements`` such as custom microcode aside)."""
        return not self.violations

    def summary(self) -> str:
        """One line: what does not fit (the first finding in full) and which layers' neuron
        model Loihi 2 runs only with custom microcode, with the model it runs as it is; every
        finding is in :meth:`to_markdown` (``report.md`` of a run directory)."""
        parts = []
        if self.violations:
            more = len(self.violations) - 1
            parts.append(
                f"does not fit ({self.violations[0]}"
                + (f"; {more} more finding(s)" if more else "")
                + ")"
            )
        micro = [r for r in self.requirements if "microcode" in r]
        if micro:
            parts.append(_microcode_line(self.layers, [r.split(":", 1)[0] for r in micro]))
        other = [r for r in self.requirements if "microcode" not in r]
        if other:
            parts.append(f"{len(other)} requirement(s) ({other[0]})")
        return (
            f"Loihi 2 resource check: {'; '.join(parts) or 'fits'}; every finding: "
            "ResourceReport.to_markdown(), report.md of a run directory"
        )

    def to_dict(self) -> dict:
        lim = asdict(self.limits)
        lim["sources"] = dict(self.limits.sources)
        return {
            "limits": lim,
            "cores": self.cores,
            "chips": self.chips,
            "neurons": self.neurons,
            "synapses": self.synapses,
            "fits": self.fits,
            "violations": list(self.violations),
            "requirements": list(self.requirements),
            "notes": list(self.notes),
            "layers": [asdict(la) for la in self.layers],
        }

    def to_markdown(self) -> str:
        head = (
            "| layer | n_in | n_out | synapses | weight bits | cores | neurons/core | "
            "KiB/core | fan-in | fan-out | neuron |"
        )
        rows = [head, "|" + "---|" * 11]
        for la in self.layers:
            rows.append(
                f"| {la.name} | {la.n_in} | {la.n_out} | {la.synapses} | {la.weight_bits} | "
                f"{la.cores} | {la.neurons_per_core} | {la.synapse_bits_per_core / 8192:.2f} | "
                f"{la.fan_in} | {la.fan_out} | {la.neuron} |"
            )
        rows.append("")
        rows.append(
            f"Total: {self.cores} core(s) on {self.chips} chip(s), {self.neurons} neurons, "
            f"{self.synapses} synapses; fits: {'yes' if self.fits else 'NO'}."
        )
        rows += [f"- violation: {v}" for v in self.violations]
        rows += [f"- requirement: {r}" for r in self.requirements]
        rows += [f"- note: {n}" for n in self.notes]
        return "\n".join(rows) + "\n"


def _microcode_line(layers: Sequence[LayerMapping], names: Sequence[str]) -> str:
    """``layer0, layer1 run neuron 'if', which Loihi 2 runs only with custom microcode (...);
    Loihi 2 runs 'lif-hard' as it is: convert with --neuron lif-hard ...``."""
    from lava_pinn.neurons import available

    by_neuron: dict[str, list[str]] = {}
    for la in layers:
        if la.name in names:
            by_neuron.setdefault(la.neuron, []).append(la.name)
    said = "; ".join(
        f"{', '.join(ls)} run{'s' if len(ls) == 1 else ''} neuron {n!r}"
        for n, ls in by_neuron.items()
    )
    codings = {get_neuron(n).coding for n in by_neuron if n in available()}
    natives = [m for c in sorted(codings) for m in available(c) if get_neuron(m).loihi_native]
    text = (
        f"{said}, which Loihi 2 runs only with custom microcode (Intel's non-public "
        "lava-loihi; the CPU simulator and the twin need none)"
    )
    if "lif-hard" in natives:
        text += (
            "; Loihi 2 runs 'lif-hard' as it is: convert with --neuron lif-hard for a chip "
            "without it (less accurate: docs/loihi2.md)"
        )
    elif natives:
        text += f"; Loihi 2 runs {', '.join(map(repr, natives))} as it is (docs/loihi2.md)"
    return text


def check_layers(layers: Sequence[LayerShape], limits: ChipLimits = LOIHI2) -> ResourceReport:
    """Map ``layers`` onto ``limits``; warn (``LoihiResourceWarning``) about what cannot fit."""
    layers = tuple(layers)
    if not layers or not all(isinstance(la, LayerShape) for la in layers):
        raise TypeError("check_layers needs a non-empty sequence of LayerShape")
    lim = limits
    mem = lim.synaptic_memory_bits_per_core
    mapped, bad, notes, needs = [], [], [], []
    for la in layers:
        bits = la.synapse_bits()
        cores = max(math.ceil(la.n_out / lim.neurons_per_core), math.ceil(bits / mem), 1)
        cores = min(cores, la.n_out)  # at most one neuron per core
        per_core_neurons = math.ceil(la.n_out / cores)
        per_core_bits = math.ceil(bits / cores)
        if la.n_in > lim.fan_in_per_core:
            bad.append(
                f"{la.name}: fan-in {la.n_in} inputs exceeds {lim.fan_in_per_core} input axons "
                f"per core ({lim.source('fan_in_per_core')}); splitting neurons over cores does "
                "not reduce it: split the layer's inputs or shrink it"
            )
        if per_core_bits > mem:
            bad.append(
                f"{la.name}: synaptic memory {per_core_bits / 8192:.1f} KiB per core exceeds "
                f"{mem / 8192:.0f} KiB even with one neuron per core "
                f"({lim.source('synaptic_memory_bits_per_core')})"
            )
        if per_core_neurons > lim.neurons_per_core:
            bad.append(
                f"{la.name}: {per_core_neurons} neurons per core exceeds {lim.neurons_per_core}"
            )
        if la.weight_bits > lim.max_weight_bits:
            bad.append(
                f"{la.name}: {la.weight_bits}-bit weights exceed {lim.max_weight_bits} bits "
                f"({lim.source('max_weight_bits')}); quantize further"
            )
        if la.analog_input:
            notes.append(
                f"{la.name}: analog input (direct encoding) must reach the chip as graded spikes "
                "(Loihi 2: payload up to 32 bits) or as a host-computed bias"
            )
        if la.neuron not in ("output", "lif-hard"):
            try:
                native = get_neuron(la.neuron).loihi_native
            except KeyError:
                native = False
            if not native:
                needs.append(
                    f"{la.name}: neuron model {la.neuron!r} is not built into Loihi 2; it needs "
                    "custom microcode from the non-public lava-loihi extension"
                )
        mapped.append(
            LayerMapping(
                name=la.name,
                n_in=la.n_in,
                n_out=la.n_out,
                synapses=la.nonzeros,
                synapse_bits=bits,
                weight_bits=la.weight_bits,
                cores=cores,
                neurons_per_core=per_core_neurons,
                synapse_bits_per_core=per_core_bits,
                fan_in=la.max_fan_in,
                fan_out=la.max_fan_out,
                neuron=la.neuron,
            )
        )
    for cur, nxt in zip(mapped[:-1], mapped[1:], strict=False):
        routes = cur.neurons_per_core * nxt.cores  # each neuron reaches every core of the next
        if routes > lim.fan_out_per_core:
            bad.append(
                f"{cur.name}: {routes} output axon routes per core ({cur.neurons_per_core} "
                f"neurons x {nxt.cores} cores of {nxt.name}) exceed {lim.fan_out_per_core} "
                f"({lim.source('fan_out_per_core')})"
            )
    report = ResourceReport(lim, tuple(mapped), tuple(bad), tuple(notes), tuple(needs))
    for what, total, cap in (
        ("cores", report.cores, lim.cores_per_chip),
        ("neurons", report.neurons, lim.neurons_per_chip),
        ("synapses", report.synapses, lim.synapses_per_chip),
    ):
        if total > cap:
            bad.append(
                f"network needs {total} {what}, more than one chip's {cap} "
                f"({lim.source(what + '_per_chip')}): it spans {report.chips} chips"
            )
    report = ResourceReport(lim, tuple(mapped), tuple(bad), tuple(notes), tuple(needs))
    if report.violations or report.requirements:
        # one line per check, at the caller's line; every finding is in the report
        warnings.warn(report.summary(), LoihiResourceWarning, stacklevel=outside())
    return report


def check_network(
    weights: Sequence[object],
    weight_bits: int | Sequence[int] = 8,
    neurons: str | Sequence[str] = "lif-hard",
    *,
    names: Sequence[str] | None = None,
    analog_input: bool = True,
    limits: ChipLimits = LOIHI2,
) -> ResourceReport:
    """Resource check of a chain of weight matrices ``(n_out, n_in)``.

    ``neurons`` is one model for the hidden layers (the last layer is the output) or one per
    layer; ``weight_bits`` one width for all layers or one per layer.
    """
    n = len(weights)
    if isinstance(neurons, str):
        neurons = [neurons] * (n - 1) + ["output"]
    if isinstance(weight_bits, int):
        weight_bits = [weight_bits] * n
    if len(neurons) != n or len(weight_bits) != n:
        raise ValueError(f"neurons and weight_bits need one entry per layer ({n})")
    names = list(names) if names is not None else [f"layer{k + 1}" for k in range(n)]
    shapes = [
        LayerShape.from_weight(names[k], w, weight_bits[k], neurons[k], analog_input and k == 0)
        for k, w in enumerate(weights)
    ]
    return check_layers(shapes, limits)
