"""Elementwise activation functions a PINN may use, looked up by name or by module type.

Conversion needs to know that a module acts elementwise (``y_i = f(z_i)``) before it can replace
it with spiking neurons; this registry is that list. Users add their own with
:func:`register_activation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lava_pinn.registry import Registry


class Sin(nn.Module):
    """``y = sin(x)``, the activation of SIREN-style PINNs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


@dataclass(frozen=True)
class Activation:
    """An elementwise activation: ``name``, the module class that computes it, and its defaults.

    ``module_type`` is instantiated without arguments by :meth:`module`; a user module is matched
    by ``isinstance`` and must keep the default parameters listed in ``defaults`` (for example
    ``Softplus(beta=1)``), otherwise it is refused with the offending attribute named.
    """

    name: str
    module_type: type
    defaults: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.module_type, type) or not issubclass(self.module_type, nn.Module):
            raise TypeError(
                f"Activation.module_type must be an nn.Module subclass, got {self.module_type!r}"
            )

    def module(self) -> nn.Module:
        return self.module_type()

    def matches(self, module: nn.Module) -> bool:
        if type(module) is not self.module_type:
            return False
        return all(getattr(module, k, v) == v for k, v in self.defaults)


ACTIVATIONS: Registry[Activation] = Registry("activation")


def register_activation(
    name: str, module_type: type, defaults: dict[str, object] | None = None
) -> Activation:
    """Register an elementwise activation module class under ``name``."""
    act = Activation(name, module_type, tuple(sorted((defaults or {}).items())))
    ACTIVATIONS.register(name, act)
    return act


register_activation("tanh", nn.Tanh)
register_activation("sin", Sin)
register_activation("sigmoid", nn.Sigmoid)
register_activation("silu", nn.SiLU)
register_activation("gelu", nn.GELU, {"approximate": "none"})
register_activation("softplus", nn.Softplus, {"beta": 1.0, "threshold": 20.0})
register_activation("relu", nn.ReLU)


def get_activation(name: str) -> Activation:
    """Return the activation registered as ``name`` (``KeyError`` lists the available ones)."""
    return ACTIVATIONS.get(name)


def activation_name_of(module: nn.Module) -> str | None:
    """The registry name of an activation module, or ``None`` if it is not a known one."""
    for name, act in ACTIVATIONS.items():
        if act.matches(module):
            return name
    return None


def available() -> list[str]:
    return ACTIVATIONS.available()
