"""The torch twin's exact-float fast path equals its int64 path, value for value.

The Lava comparison (``tests/test_lava_graph.py``) proves the twin against Lava; this file proves
the twin's two arithmetic paths against each other on cases Lava would take long to run: many
points, deep chains, and currents large enough to force float64.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from exporters import twin
from exporters.intnet import IntegerNetwork, random_network


def _int_path(net: IntegerNetwork, x: np.ndarray):
    r = twin.run_twin(net, x, trace=True, force_int64=True)
    return r.acc, r.counts, r.events, r.spikes


def _same(net: IntegerNetwork, x: np.ndarray) -> None:
    fast = twin.run_twin(net, x, chunk=97, trace=True)  # odd chunk: several passes, one ragged
    acc, counts, events, spikes = _int_path(net, x)
    assert np.array_equal(fast.acc, acc)
    for a, b in zip(fast.counts, counts, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(fast.events, events, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(fast.spikes, spikes, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("neuron", ["if", "signed-if", "graded-if"])
@pytest.mark.parametrize("sizes", [[3, 16, 3], [2, 32, 24, 40, 1], [3, 64, 64, 64, 64, 64, 64, 3]])
def test_float_path_equals_int_path(neuron: str, sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes) * 7 + sizes[1])
    net = random_network(rng, sizes, neuron, 24)
    x = rng.uniform(-1.5, 1.5, size=(300, sizes[0]))
    mant, _ = net.encode_input(x)
    assert twin.exact_float_dtype(net, mant) is torch.float32
    _same(net, x)


def test_large_currents_use_float64_and_stay_exact() -> None:
    rng = np.random.default_rng(5)
    net = random_network(rng, [3, 20, 20, 2], "if", 16)
    big = replace(
        net.hidden[1],
        weight_exp=8,
        bias_mant=np.full(20, 8_300_000) - 8 * net.hidden[1].bias_mant,
        threshold=np.full(20, 3_000_000),
        v0=np.zeros(20, dtype=np.int64),
    )
    net = replace(net, hidden=(net.hidden[0], big))
    x = rng.uniform(-1, 1, size=(64, 3))
    mant, _ = net.encode_input(x)
    assert twin.exact_float_dtype(net, mant) is torch.float64
    _same(net, x)


def test_lif_takes_the_int_path() -> None:
    net = random_network(np.random.default_rng(2), [3, 16, 16, 2], "lif-hard", 16)
    mant, _ = net.encode_input(np.zeros((1, 3)))
    assert twin.exact_float_dtype(net, mant) is None


@pytest.mark.parametrize("chunk", [0, -3, 2.5, True])
def test_bad_chunk_is_refused(chunk: object) -> None:
    net = random_network(np.random.default_rng(0), [3, 8, 2], "if", 4)
    with pytest.raises(ValueError, match="chunk"):
        twin.run_twin(net, np.zeros((2, 3)), chunk=chunk)


def test_reduced_matmul_precision_falls_back_to_float64() -> None:
    net = random_network(np.random.default_rng(4), [3, 16, 16, 2], "if", 8)
    x = np.random.default_rng(4).uniform(-1, 1, size=(50, 3))
    mant, _ = net.encode_input(x)
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        assert twin.exact_float_dtype(net, mant) is torch.float64
        _same(net, x)
    finally:
        torch.set_float32_matmul_precision(before)
