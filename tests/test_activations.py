"""Activations: conversion evaluates the model's own activation instance, so its parameters
(``Softplus(beta=5)``, a trained scalar slope) count, and a module used twice counts twice."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.activations import (
    ACTIVATIONS,
    activation_label,
    frozen_copy,
    get_activation,
    register_activation,
)

X = torch.rand(512, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1


class AdaptiveTanh(nn.Module):
    """``tanh(a z)`` with a trainable scalar ``a``."""

    def __init__(self, a: float = 3.0) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.a * z)


@pytest.fixture(scope="module")
def adaptive() -> str:
    name = "test-adaptive-tanh"
    if name not in ACTIVATIONS:
        register_activation(name, AdaptiveTanh)
    return name


def _rel_to_ann(act: nn.Module) -> float:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), act, nn.Linear(16, 16), act, nn.Linear(16, 1)).double()
    snn = lava_pinn.convert(net, X, T=64, neuron="graded-if", calibration="none", pieces=16)
    with torch.no_grad():
        y, y_ann = snn(X), net(X)
    return float((y - y_ann).norm() / y_ann.norm())


@pytest.mark.parametrize(
    "act",
    [
        nn.Softplus(beta=5.0),
        nn.LeakyReLU(0.2),
        nn.GELU(approximate="tanh"),
        nn.ELU(0.5),
        nn.Hardtanh(-2.0, 2.0),
        nn.PReLU(init=0.3),
        nn.Mish(),
    ],
    ids=lambda a: repr(a),
)
def test_instance_parameters_are_converted(act: nn.Module) -> None:
    # 16 graded pieces per unit at T=64: the SNN is within 0.5% of its ANN when f is the
    # instance's function (the defaults' function instead gives 40% on Softplus(beta=5))
    assert _rel_to_ann(act) < 5e-3


def test_trained_scalar_parameter_is_converted(adaptive: str) -> None:
    assert _rel_to_ann(AdaptiveTanh(3.0)) < 5e-3


def test_reused_activation_instance_counts_at_every_use() -> None:
    act = nn.Tanh()
    net = nn.Sequential(nn.Linear(2, 8), act, nn.Linear(8, 8), act, nn.Linear(8, 1)).double()
    snn = lava_pinn.convert(net, X, T=8, calibration="none")
    assert snn.metadata["activations"] == ["tanh", "tanh"]


def test_labels_name_non_default_parameters() -> None:
    assert activation_label(nn.Softplus()) == "softplus"
    assert activation_label(nn.Softplus(beta=5.0)) == "softplus(beta=5.0, threshold=20.0)"
    assert activation_label(nn.Tanh()) == "tanh"


def test_frozen_copy_leaves_the_model_alone(adaptive: str) -> None:
    act = AdaptiveTanh(2.0)
    copy = frozen_copy(act, torch.float64)
    assert copy.a.dtype == torch.float64 and not copy.a.requires_grad
    assert act.a.requires_grad and act.a.dtype == torch.float32


def test_registered_defaults_build_the_module() -> None:
    assert get_activation("leaky-relu").module().negative_slope == 0.01
    assert get_activation("gelu").module().approximate == "none"


def test_registration_is_validated() -> None:
    with pytest.raises(TypeError, match="module_type"):
        register_activation("test-not-a-module", int)
    with pytest.raises(ValueError, match="already registered"):
        register_activation("tanh", nn.Tanh)
