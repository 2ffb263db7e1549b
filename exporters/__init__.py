"""From a converted SNN to integers and Lava: quantization, the artifact file, the torch
fixed-point twin and the Lava process graphs.

The public names load on first use (``import exporters`` imports nothing heavy, never Lava):
:func:`quantize`, :func:`export`, :func:`load`, :func:`load_artifact`, :func:`run_twin`,
:class:`IntegerNetwork`, :class:`QuantizationReport`, :class:`ArtifactError`.
"""

from __future__ import annotations

import sys
import types

_LAZY = {
    "quantize": "exporters.quantize",
    "QuantizationError": "exporters.quantize",
    "QuantizationReport": "exporters.quant_report",
    "export": "exporters.artifact",
    "load": "exporters.artifact",
    "load_artifact": "exporters.artifact",
    "Artifact": "exporters.artifact",
    "ArtifactError": "exporters.artifact",
    "IntegerNetwork": "exporters.intnet",
    "run_twin": "exporters.twin",
}

__all__ = list(_LAZY)


class _Package(types.ModuleType):
    """Keeps ``exporters.quantize`` the function once the submodule of the same name loads.

    Importing ``exporters.quantize`` (the module) makes Python set the package attribute
    ``quantize`` to that module; this hook stores the module's function of the same name
    instead, so ``exporters.quantize(snn)`` and ``from exporters.quantize import quantize``
    both work (``sys.modules["exporters.quantize"]`` is the module).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _LAZY.get(name) == f"{__name__}.{name}"
            and hasattr(value, name)
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'exporters' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
