"""IntegerNetwork validation: out-of-range integers are rejected with the layer and field named."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from exporters.intnet import IntegerNetwork, IntLayer, IntReadout, random_network
from lava_pinn.neurons import NEURONS


def _net(neuron="if", sizes=(3, 8, 8, 2), T=16):
    return random_network(np.random.default_rng(0), list(sizes), neuron, T)


def _replace_layer(net, i, **changes):
    hidden = list(net.hidden)
    fields = {f.name: getattr(hidden[i], f.name) for f in dataclasses.fields(IntLayer)}
    fields.update(changes)
    hidden[i] = IntLayer(**fields)
    return IntegerNetwork(tuple(hidden), net.readout, net.input_scale, net.output_scale, net.T)


def test_every_neuron_model_has_an_integer_step_and_fields():
    for name in NEURONS.available():
        m = NEURONS.get(name)
        assert callable(m.int_step) and m.threshold_range[0] <= m.threshold_range[1]


@pytest.mark.parametrize("neuron", ["if", "signed-if", "graded-if", "lif-hard"])
def test_random_networks_are_valid_and_frozen(neuron):
    net = _net(neuron)
    assert net.sizes == [3, 8, 8, 2] and net.depth == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.T = 3
    with pytest.raises(ValueError):
        net.hidden[1].weight[0, 0] = 1  # arrays are read-only


def test_dense_weight_out_of_range_names_layer():
    net = _net()
    w = net.hidden[1].weight.copy()
    w[0, 0] = 300
    with pytest.raises(ValueError, match=r"hidden\[1\] \(layer1\)\.weight .*\[-256, 254\]"):
        _replace_layer(net, 1, weight=w)


def test_odd_mixed_weight_rejected():
    net = _net()
    w = net.hidden[1].weight.copy()
    w[0, 0] = 3
    with pytest.raises(ValueError, match=r"layer1.*even"):
        _replace_layer(net, 1, weight=w)


def test_excitatory_weights_may_be_odd():
    net = _net()
    w = np.abs(net.hidden[1].weight) + 1
    assert _replace_layer(net, 1, weight=w).hidden[1].weight.max() <= 255


def test_lif_fields_checked():
    net = _net("lif-hard")
    la = net.hidden[1]
    with pytest.raises(
        ValueError, match=r"layer1\.bias_mant \(lif-hard\) must lie in \[-4096, 4095\]"
    ):
        _replace_layer(net, 1, bias_mant=np.full(la.n_out, 5000))
    with pytest.raises(ValueError, match=r"layer1\.bias_exp .* \[0, 7\]"):
        _replace_layer(net, 1, bias_exp=np.full(la.n_out, 8))
    with pytest.raises(ValueError, match=r"layer1\.threshold .* \[0, 131071\]"):
        _replace_layer(net, 1, threshold=np.full(la.n_out, 2**17))
    th = la.threshold.copy()
    th[0] += 1
    with pytest.raises(ValueError, match=r"layer1\.threshold: .*one threshold per layer"):
        _replace_layer(net, 1, threshold=th)


def test_lif_synaptic_input_must_fit_24_bits():
    net = _net("lif-hard")
    w = np.full_like(net.hidden[1].weight, 254)
    with pytest.raises(ValueError, match=r"hidden\[1\].*24-bit LIF current"):
        _replace_layer(net, 1, weight=w, weight_exp=8)


def test_if_threshold_and_v0_checked():
    net = _net("if")
    la = net.hidden[0]
    with pytest.raises(ValueError, match=r"layer0\.threshold \(if\) must lie in \[1, "):
        _replace_layer(net, 0, threshold=np.zeros(la.n_out, dtype=np.int64))
    with pytest.raises(ValueError, match=r"layer0\.v0\[0\] = .* firing threshold"):
        _replace_layer(net, 0, v0=la.threshold.copy())
    with pytest.raises(ValueError, match=r"layer0\.bias_exp"):
        _replace_layer(net, 0, bias_exp=np.ones(la.n_out, dtype=np.int64))


def test_types_and_shapes():
    net = _net()
    with pytest.raises(TypeError, match=r"layer0\.weight must hold integers"):
        _replace_layer(net, 0, weight=net.hidden[0].weight.astype(float))
    with pytest.raises(ValueError, match=r"layer0\.v0 has 3 entries but weight has 8 rows"):
        _replace_layer(net, 0, v0=np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"layer1\.weight_exp must lie in \[-8, 8\]"):
        _replace_layer(net, 1, weight_exp=9)
    z4 = np.zeros(4, dtype=np.int64)
    narrow = IntLayer(np.zeros((4, 8), dtype=np.int64), 0, z4, z4, z4 + 1, z4, "if")
    with pytest.raises(ValueError, match="takes 8 inputs but the last hidden layer has 4"):
        IntegerNetwork((net.hidden[0], narrow), net.readout, 1.0, 1.0, 4)
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        IntegerNetwork(net.hidden, net.readout, 1.0, 1.0, 0)
    with pytest.raises(ValueError, match="input_scale must be finite and > 0"):
        IntegerNetwork(net.hidden, net.readout, -1.0, 1.0, 4)


def test_input_encoding():
    net = _net("if")
    x = np.array([[0.5, -0.25, 1.0]])
    assert net.quantize_input(x).tolist() == [[128, -64, 256]]
    with pytest.raises(ValueError, match="beyond signed 16-bit"):
        net.quantize_input(np.array([[200.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"shape \(n_points, 3\)"):
        net.quantize_input(np.zeros((2, 4)))
    mant, exp = net.encode_input(x)
    assert np.array_equal(mant, net.input_current(x)) and not exp.any()


def test_lif_input_encoding_logs_when_lossy(caplog):
    """Lava's LIF bias holds a 13-bit mantissa: a large current loses its low bits. Nothing to
    act on (twin and Lava round alike, the errors include it): a log record, no warning."""
    net = _net("lif-hard")
    la = net.hidden[0]
    x = np.array([[1.0, 1.0, 1.0]])
    big = _replace_layer(net, 0, weight=np.full_like(la.weight, 20), weight_exp=-1)
    cur = big.input_current(x)  # 3 * 20 * 256 / 2 = 7680 a-units, << 6, + bias: odd bias -> lossy
    assert (np.abs(cur) > 4095).all()
    odd = _replace_layer(
        big, 0, bias_mant=np.full(la.n_out, 3), bias_exp=np.zeros_like(la.bias_exp)
    )
    with warnings.catch_warnings(), caplog.at_level("INFO", logger="exporters.intnet"):
        warnings.simplefilter("error")
        mant, exp = odd.encode_input(x)
    assert "rounds the input current by up to" in caplog.text
    cur = odd.input_current(x)
    assert np.abs((mant << exp) - cur).max() <= 2 ** (int(exp.max()) - 1)


def test_readout_checked():
    net = _net()
    w = net.readout.weight.copy()
    w[0, 0] = -300
    with pytest.raises(ValueError, match=r"readout \(readout\)\.weight"):
        IntegerNetwork(net.hidden, IntReadout(w, 0, net.readout.bias), 1.0, 1.0, 4)
    with pytest.raises(ValueError, match=r"readout\.bias has 3 entries"):
        IntReadout(net.readout.weight, 0, np.zeros(3, dtype=np.int64))


# ------------------------------------------------------------------ second (fine) weight group
def test_fine_weight_group_validation():
    net = random_network(np.random.default_rng(0), [3, 8, 8, 2], "if", 16, weight_groups=2)
    la = net.hidden[1]
    assert la.fine_weight is not None and la.fine_exp < la.weight_exp
    assert len(la.groups) == 2 and len(net.hidden[0].groups) == 1
    with pytest.raises(ValueError, match=r"fine_weight and fine_exp go together"):
        _replace_layer(net, 1, fine_exp=None)
    with pytest.raises(ValueError, match=r"layer1\.fine_weight has shape \(8, 7\)"):
        _replace_layer(net, 1, fine_weight=la.fine_weight[:, :7])
    with pytest.raises(ValueError, match=r"fine_exp = .* must lie below weight_exp"):
        _replace_layer(net, 1, fine_exp=la.weight_exp)
    odd = la.fine_weight.copy()
    odd[0, 0] = 3
    with pytest.raises(ValueError, match=r"layer1\)\.fine\.weight.*even"):
        _replace_layer(net, 1, fine_weight=odd)
    with pytest.raises(ValueError, match=r"hidden\[0\].*host.*no second weight group"):
        _replace_layer(
            net, 0, weight_exp=-7, fine_weight=np.zeros_like(net.hidden[0].weight), fine_exp=-8
        )


def test_fine_weight_group_refused_into_lava_lif():
    lif = random_network(np.random.default_rng(0), [3, 8, 8, 2], "lif-hard", 16)
    la = lif.hidden[1]
    with pytest.raises(ValueError, match=r"hidden\[1\].*Lava's LIF\) takes one Dense group"):
        _replace_layer(lif, 1, fine_weight=np.zeros_like(la.weight), fine_exp=la.weight_exp - 1)
    with pytest.raises(ValueError, match="needs a custom IF neuron"):
        random_network(np.random.default_rng(0), [3, 8, 2], "lif-hard", 16, weight_groups=2)
