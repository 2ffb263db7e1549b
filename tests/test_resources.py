"""Loihi 2 resource check: mapping arithmetic, limits with sources, warnings on what cannot fit."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from hardware.resources import (
    LOIHI2,
    ChipLimits,
    LayerShape,
    LoihiResourceWarning,
    check_layers,
    check_network,
)


def chain(*widths: int) -> list[np.ndarray]:
    return [np.ones((b, a)) for a, b in zip(widths[:-1], widths[1:], strict=False)]


def test_small_pinn_fits_one_chip_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = check_network(chain(3, 64, 64, 3), weight_bits=8, neurons="lif-hard")
    assert rep.fits and rep.chips == 1
    assert rep.cores == 3 and rep.neurons == 64 + 64 + 3
    assert rep.synapses == 3 * 64 + 64 * 64 + 64 * 3
    l2 = rep.layers[1]
    assert l2.synapse_bits == 64 * 64 * 8 and l2.neurons_per_core == 64
    assert any("graded spikes" in n for n in rep.notes)


def test_every_limit_states_its_source():
    for f in dataclasses.fields(ChipLimits):
        if f.name in ("name", "sources"):
            continue
        src = LOIHI2.source(f.name)
        assert src != "not stated", f.name
    assert "assumed" in LOIHI2.source("neurons_per_core")
    assert "public" in LOIHI2.source("cores_per_chip")


def test_fan_in_violation_warns():
    with pytest.warns(LoihiResourceWarning, match="fan-in 5000"):
        rep = check_network(chain(5000, 16, 1))
    assert not rep.fits


def test_synaptic_memory_per_core_violation_warns():
    tiny_core = dataclasses.replace(LOIHI2, synaptic_memory_bits_per_core=8 * 100)
    # one neuron alone needs 200 inputs x 8 bits = 1600 bits > 800 bits of memory per core
    with pytest.warns(LoihiResourceWarning, match="synaptic memory"):
        rep = check_network(chain(200, 4, 1), limits=tiny_core)
    assert any("synaptic memory" in v for v in rep.violations)


def test_memory_splits_a_layer_over_cores():
    small = dataclasses.replace(LOIHI2, synaptic_memory_bits_per_core=64 * 64 * 8 // 4)
    rep = check_network(chain(64, 64, 1), limits=small)
    assert rep.layers[0].cores == 4 and rep.layers[0].neurons_per_core == 16
    assert rep.fits


def test_neurons_and_chips():
    few = dataclasses.replace(LOIHI2, neurons_per_core=10, cores_per_chip=4)
    with pytest.warns(LoihiResourceWarning, match="more than one chip"):
        rep = check_network(chain(2, 50, 1), limits=few)
    assert rep.layers[0].cores == 5 and rep.chips == 2


def test_weight_bits_and_custom_neurons():
    with pytest.warns(LoihiResourceWarning) as rec:
        rep = check_network(chain(2, 8, 1), weight_bits=[16, 8], neurons="if")
    msgs = " ".join(str(w.message) for w in rec)
    assert "16-bit weights" in msgs and "microcode" in msgs
    assert any("microcode" in r for r in rep.requirements)


def test_sparse_weights_use_sparse_storage():
    w = np.zeros((100, 100))
    w[np.arange(100), np.arange(100)] = 1.0
    shape = LayerShape.from_weight("diag", w, weight_bits=8)
    assert shape.nonzeros == 100 and shape.max_fan_in == 1 and shape.max_fan_out == 1
    assert shape.synapse_bits() == 100 * (8 + 7)  # 7 index bits for 100 inputs


def test_report_serialises():
    rep = check_layers([LayerShape("a", 4, 4, 16, 4, 4, 8)])
    d = rep.to_dict()
    assert d["cores"] == 1 and d["limits"]["sources"]["cores_per_chip"]
    assert rep.to_markdown().count("\n|") >= 2


def test_layer_shape_validation():
    with pytest.raises(ValueError, match="nonzeros"):
        LayerShape("a", 2, 2, 5, 2, 2, 8)
    with pytest.raises(ValueError, match="weight_bits"):
        LayerShape("a", 2, 2, 4, 2, 2, 0)
    with pytest.raises(ValueError, match="neurons_per_core"):
        dataclasses.replace(LOIHI2, neurons_per_core=0)


def test_two_weight_groups_count_their_synapses_twice():
    """A synapse with a fine Dense group (exporters.intnet.IntLayer) stores two 8-bit weights per
    connection: twice the synapses, synaptic memory and synaptic operations."""
    from exporters.intnet import random_network
    from hardware.activity import LayerSpec
    from hardware.runner import resource_check

    w = np.ones((6, 5))
    f = np.ones((6, 5))
    f[0, 0] = 0
    shape = LayerShape.from_weight("two", (w, f), weight_bits=8)
    assert shape.groups == 2 and shape.nonzeros == 59 and shape.max_fan_in == 10
    assert shape.synapse_bits() == min(2 * 30 * 8, 59 * (8 + 3))
    spec = LayerSpec.from_weight("two", (w, f), "if")
    assert spec.groups == 2 and spec.nonzeros == 59 and spec.fan_out.tolist() == [11] + [12] * 4
    with pytest.raises(ValueError, match="weight groups differ in shape"):
        LayerShape.from_weight("bad", (w, f[:, :4]))
    two = random_network(np.random.default_rng(0), [3, 8, 8, 2], "if", 16, weight_groups=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoihiResourceWarning)
        rep = resource_check(two)
    layers = (*two.hidden, two.readout)
    assert rep.synapses == sum(int(np.count_nonzero(w)) for la in layers for w, _ in la.groups)
    assert rep.synapses > sum(int(np.count_nonzero(la.weight)) for la in layers)
    assert all(la.weight_bits == 8 for la in rep.layers)


def test_one_summary_line_at_the_callers_line():
    """Every finding of one check in one warning, attributed to this file, not the library's;
    the report holds each finding."""
    with pytest.warns(LoihiResourceWarning) as rec:
        rep = check_network(chain(5000, 16, 8, 1), weight_bits=[16, 8, 8], neurons="if")
    assert len(rec) == 1
    w = rec[0]
    assert w.filename == __file__
    msg = str(w.message)
    assert "\n" not in msg and "does not fit" in msg and "more finding" in msg
    # actionable: which layers, which neuron, and the one Loihi 2 runs as it is
    assert "layer1, layer2 run neuron 'if', which Loihi 2 runs only with custom microcode" in msg
    assert "convert with --neuron lif-hard" in msg
    assert len(rep.violations) >= 2 and len(rep.requirements) == 2
