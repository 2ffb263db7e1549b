"""From a converted SNN to integers and Lava: quantization, the artifact file, the torch
fixed-point twin and the Lava process graphs.

The public names load on first use (``import exporters`` imports nothing heavy, never Lava):
:func:`quantize` (defined in :mod:`exporters.quantizer`), :func:`export`, :func:`load`,
:func:`load_artifact`, :func:`run_twin`, :class:`IntegerNetwork`, :class:`QuantizationReport`,
:class:`ArtifactError`.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "quantize": "exporters.quantizer",
    "QuantizationError": "exporters.quantizer",
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


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'exporters' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
