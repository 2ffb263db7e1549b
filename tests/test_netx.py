"""netx export: the file loads in lava-dl 0.6.0 netx, runs on Lava's CPU simulator and equals the
torch twin (==); non-native or inexpressible networks are refused with the layer named."""

from __future__ import annotations

import dataclasses
import time

import h5py
import numpy as np
import pytest

from exporters import netx
from exporters.intnet import IntegerNetwork, random_network
from exporters.runtime import lava_children
from exporters.twin import run_twin

pytest.importorskip("lava.magma.core.process.process")
pytestmark = pytest.mark.lava


def _native(seed: int, sizes: list[int], T: int, *, plain: bool = False) -> IntegerNetwork:
    """A random lif-hard network that netx expresses exactly: weights of layers >= 1 are
    multiples of 8 (weight_exp -3), biases multiples of 64. ``plain``: v0 = 0 and no bias in
    layers >= 1, so netx alone (no host gating, no v0) runs it the same."""
    rng = np.random.default_rng(seed)
    base = random_network(rng, sizes, "lif-hard", T)
    hidden = [base.hidden[0]]
    for la in base.hidden[1:]:
        hidden.append(
            dataclasses.replace(
                la,
                weight=8 * rng.integers(-10, 11, size=la.weight.shape),
                bias_mant=np.zeros(la.n_out, int) if plain else rng.integers(-3, 12, la.n_out),
                bias_exp=np.full(la.n_out, 6),
            )
        )
    if plain:
        hidden = [dataclasses.replace(la, v0=np.zeros(la.n_out, int)) for la in hidden]
    return IntegerNetwork(tuple(hidden), base.readout, base.input_scale, base.output_scale, T)


@pytest.fixture(scope="module")
def netx_utils():
    netx.import_netx()
    from lava.lib.dl.netx import utils

    return utils


def _assert_same(lava, twin):
    assert np.array_equal(lava.acc, twin.acc)
    assert np.array_equal(lava.y, twin.y)
    for a, b in zip(lava.counts, twin.counts, strict=True):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------------------ pure checks
def test_weight_mirror_matches_lava_dl(netx_utils):
    from lava.utils.weightutils import clip_weights, determine_sign_mode, truncate_weights

    rng = np.random.default_rng(0)
    cases = [
        rng.integers(-128, 128, (5, 4)),
        2 * rng.integers(-128, 128, (5, 4)),
        rng.integers(0, 256, (3, 6)),
        rng.integers(-255, 1, (3, 6)),
        8 * rng.integers(-5, 6, (4, 4)),
        np.array([[-128, 0], [0, -64]]),  # inhibitory power of two: netx clips it to nothing
        np.array([[1, 0]]),
    ]
    for w in cases:
        with np.errstate(divide="ignore"):  # netx divides by a zero maximum for [[-128, 0]]
            w2, nwb, exp, _ = netx_utils.optimize_weight_bits(w.copy())
        mode = determine_sign_mode(w2)
        lava = truncate_weights(clip_weights(w2, mode, num_bits=8), mode, nwb)
        ours, our_exp, our_nwb = netx.netx_dense_weights(w)
        assert (our_exp, our_nwb) == (exp, nwb)
        assert np.array_equal(ours, lava), w


def test_export_round_trip_and_file_layout(tmp_path):
    net = _native(1, [3, 8, 7, 2], 16)
    path = netx.export_netx(net, tmp_path / "n.net")
    back = netx.read_netx(path)
    for a, b in zip(net.hidden, back.hidden, strict=True):
        for f in ("weight", "bias_mant", "bias_exp", "threshold", "v0"):
            assert np.array_equal(getattr(a, f), getattr(b, f))
        assert a.weight_exp == b.weight_exp
    assert np.array_equal(net.readout.weight, back.readout.weight) and back.T == 16
    with h5py.File(path) as f:
        assert f["layer/0/type"][()] == b"input"
        assert f["layer/1/type"][()] == b"dense" and f["layer/1/neuron/type"][()] == b"CUBA"
        assert f["layer/1/neuron/iDecay"][()] == 4096 and f["layer/1/neuron/vDecay"][()] == 0
        assert np.array_equal(f["layer/1/weight"][()], net.hidden[1].weight >> 3)
        assert np.array_equal(f["layer/1/bias"][()], net.hidden[1].bias >> 6)
        assert f["layer/2/weight"].shape == (2, 7)
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_non_native_network_is_refused_naming_layer_and_model(tmp_path):
    base = _native(2, [3, 6, 5, 2], 8)
    soft = random_network(np.random.default_rng(2), [3, 6, 5, 2], "if", 8)
    mixed = IntegerNetwork(
        (base.hidden[0], soft.hidden[1]), base.readout, base.input_scale, base.output_scale, 8
    )
    with pytest.raises(netx.NetxExportError, match=r"hidden\[1\] \(layer1\).*'if'.*lif-hard"):
        netx.export_netx(mixed, tmp_path / "x.net")
    assert not (tmp_path / "x.net").exists()


def test_fine_weight_group_is_refused(tmp_path):
    net = _native(2, [3, 6, 5, 2], 8)
    ro = net.readout
    fine = dataclasses.replace(
        ro, fine_weight=np.full(ro.weight.shape, 2), fine_exp=ro.weight_exp - 7
    )
    two = IntegerNetwork(net.hidden, fine, net.input_scale, net.output_scale, 8)
    with pytest.raises(netx.NetxExportError, match=r"readout.*second weight group.*groups=1"):
        netx.export_netx(two, tmp_path / "x.net")
    assert not (tmp_path / "x.net").exists()


def test_inexpressible_exponent_and_bias_are_refused(tmp_path):
    net = random_network(np.random.default_rng(4), [3, 6, 5, 2], "lif-hard", 8)
    with pytest.raises(netx.NetxExportError, match=r"hidden\[1\].*weight_exp = -3.*multiples of 8"):
        netx.export_netx(net, tmp_path / "x.net")
    ok = _native(4, [3, 6, 5, 2], 8)
    la = ok.hidden[1]
    odd = dataclasses.replace(la, bias_mant=np.full(la.n_out, 3), bias_exp=np.zeros(la.n_out, int))
    bad = IntegerNetwork((ok.hidden[0], odd), ok.readout, ok.input_scale, ok.output_scale, 8)
    with pytest.raises(netx.NetxExportError, match=r"hidden\[1\].*bias\[0\] = 3.*multiple of 64"):
        netx.export_netx(bad, tmp_path / "x.net")


def test_corrupt_or_newer_file_is_refused(tmp_path):
    path = netx.export_netx(_native(5, [3, 6, 5, 2], 8), tmp_path / "n.net")
    with pytest.raises(netx.NetxFileError, match="no such file"):
        netx.read_netx(tmp_path / "missing.net")
    (tmp_path / "junk.net").write_bytes(b"not hdf5")
    with pytest.raises(netx.NetxFileError, match="junk.net.*unreadable"):
        netx.read_netx(tmp_path / "junk.net")
    with h5py.File(path, "r+") as f:
        f["layer/1/weight"][0, 0] += 1
    with pytest.raises(netx.NetxFileError, match=r"layer/1 differs.*edited"):
        netx.read_netx(path)
    with h5py.File(path, "r+") as f:
        f["lava_pinn"].attrs["format_version"] = 99
    with pytest.raises(netx.NetxFileError, match="version 99 is newer"):
        netx.read_netx(path)


# ------------------------------------------------------------------------------ Lava runs
@pytest.mark.parametrize("sizes,T", [([3, 8, 7, 6, 2], 16), ([2, 10, 3], 12)])
def test_netx_network_equals_twin(tmp_path, sizes, T):
    net = _native(len(sizes), sizes, T)
    assert any((la.v0 != 0).any() for la in net.hidden)
    x = np.random.default_rng(T).uniform(-1, 1, size=(3, sizes[0]))
    twin = run_twin(net, x)
    assert sum(int(c.sum()) for c in twin.counts) > 0, "test network is silent"
    path = netx.export_netx(net, tmp_path / "n.net")
    before = lava_children()
    with netx.build_netx_graph(path) as g:
        assert type(g.network).__module__ == "lava.lib.dl.netx.hdf5"
        got = g.run(x)
    _assert_same(got, twin)
    deadline = time.monotonic() + 5
    while lava_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not lava_children() - before


def test_plain_netx_run_equals_twin(tmp_path):
    """No lava-pinn runtime: netx's own Network, input as the input layer's bias, T + L steps,
    the output read from the readout neuron's v."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    net = _native(7, [3, 8, 6, 2], 16, plain=True)
    x = np.random.default_rng(8).uniform(-1, 1, size=(1, 3))
    twin = run_twin(net, x)
    assert sum(int(c.sum()) for c in twin.counts) > 0
    path = netx.export_netx(net, tmp_path / "n.net")
    hdf5 = netx.import_netx()
    network = hdf5.Network(net_config=str(path))
    mant, exp = net.encode_input(x)
    network.layers[0].neuron.bias_mant.init = mant[0]
    network.layers[0].neuron.bias_exp.init = exp[0]
    try:
        network.run(
            condition=RunSteps(num_steps=net.T + net.depth),
            run_cfg=Loihi2SimCfg(select_tag="fixed_pt"),
        )
        v = network.layers[-1].neuron.v.get().astype(np.int64)
    finally:
        network.stop()
    assert np.array_equal(v >> 6, twin.acc[0])
