"""Calibrate once, run at any T (lava_pinn.conversion.transfer): the network records the T it
was calibrated for, runs at another T with its calibrated charges rescaled, warns (naming both
T) when run far from it with T-specific calibration, and the saved file and the exported
artifact keep it."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.conversion.network import SpikingNetwork
from lava_pinn.conversion.transfer import FAR

D = torch.float64
X = torch.linspace(-1, 1, 300, dtype=D)[:, None]


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    ).double()


def _convert(net, **kw) -> SpikingNetwork:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lava_pinn.convert(net, X, **kw)


def _rel(y: torch.Tensor, ref: torch.Tensor) -> float:
    return float((y - ref).norm() / ref.norm())


def test_the_network_records_what_ties_it_to_its_T():
    net = _net()
    plain = _convert(net, T=32, representation="pwl", calibration="none")
    assert plain.metadata["calibrated_T"] == 32
    assert plain.metadata["v0_fraction"] == [0.5, 0.5]  # the rounding start V/2
    assert plain.metadata["T_specific"] is None
    fitted = _convert(net, T=32, representation="pwl", calibration="decoder")
    assert "decoders were fitted" in fitted.metadata["T_specific"]
    mse = _convert(net, T=32, representation="direct", calibration="none")
    assert mse.metadata["T_specific"] is None  # measured: its thresholds run at any T


def test_calibrated_charges_carry_over_to_another_T():
    """``potential`` calibration stores charges in v0; run at 4x its T they are scaled 4x (the
    same rate shift), which matches calibrating at that T better than the charges left as
    they are."""
    net = _net()
    with torch.no_grad():
        y = net(X)
    snn = _convert(net, T=32, representation="direct", calibration="potential", threshold="max")
    charge = [la.v0 - la.threshold / 2 for la in snn.hidden]
    assert max(float(q.abs().max()) for q in charge) > 0  # calibration moved them
    at = snn.at_T(128)
    assert at.T == 128 and at.metadata["calibrated_T"] == 32
    for la, q in zip(at.hidden, charge, strict=True):
        torch.testing.assert_close(la.v0 - la.threshold / 2, 4 * q)
    assert torch.equal(snn(X, 128), at(X))  # run(x, T) is at_T(T).run(x)
    assert snn.last_stats["T"] == 128
    raw = SpikingNetwork(snn.hidden, snn.output, 128, {})  # charges left as calibrated at 32
    fresh = _convert(net, T=128, representation="direct", calibration="potential", threshold="max")
    e_at, e_raw, e_fresh = _rel(at(X), y), _rel(raw(X), y), _rel(fresh(X), y)
    assert e_at < e_raw
    assert e_at <= 1.02 * e_fresh
    assert torch.equal(snn.at_T(32).hidden[0].v0, snn.hidden[0].v0)  # its own T: unchanged


def test_far_from_the_calibrated_T_warns_naming_both():
    net = _net()
    fitted = _convert(net, T=16, representation="pwl", calibration="decoder")
    far = int(16 * FAR) + 16
    with pytest.warns(UserWarning, match=rf"calibrated for T=16 and runs at T={far}.*decoders"):
        fitted(X, far)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted(X, 24)  # within FAR: no warning
        plain = _convert(net, T=16, representation="pwl", calibration="none")
        plain(X, 1024)  # nothing tied to T: runs anywhere without a warning
        plain.at_T(2)


def test_saved_network_and_artifact_keep_the_calibrated_T(tmp_path):
    import exporters

    net = _net()
    snn = _convert(net, T=16, representation="direct", calibration="light")
    back = SpikingNetwork.load(snn.save(tmp_path / "snn.pt"))
    assert back.metadata["calibrated_T"] == 16 and back.metadata["v0_fraction"] == [0.5, 0.5]
    moved = snn.at_T(24)
    art = exporters.load_artifact(exporters.export(moved, tmp_path / "net.h5", search=False))
    assert art.manifest["T"] == 24 and art.manifest["calibrated_T"] == 16
    assert art.manifest["metadata"]["calibrated_T"] == 16
