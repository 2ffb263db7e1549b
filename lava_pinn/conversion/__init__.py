"""PINN -> SNN conversion: representations, thresholds, calibration, the spiking network.

>>> import lava_pinn
>>> snn = lava_pinn.convert(model, x_cal, T=64)            # pwl + advanced calibration
>>> y = snn(x); snn.last_stats["rate"]

Modules: :mod:`.network` (SpikingNetwork, simulator), :mod:`.thresholds`, :mod:`.representations`
(``direct``, ``pwl``), :mod:`.calibration`, :mod:`.plan` (factored form), :mod:`.spinn`,
:mod:`.convert`. Theory: ``docs/theory.md``.
"""

from lava_pinn.conversion.calibration import CALIBRATIONS, calibrate
from lava_pinn.conversion.convert import convert, options_for, parse_mlp, rel_l2
from lava_pinn.conversion.network import (
    OutputLayer,
    SNNFileError,
    SpikingLayer,
    SpikingNetwork,
    simulate,
)
from lava_pinn.conversion.representations import REPRESENTATIONS
from lava_pinn.conversion.spinn import SpikingSPINN
from lava_pinn.conversion.thresholds import THRESHOLDS, choose_thresholds, quantize

__all__ = [
    "CALIBRATIONS",
    "REPRESENTATIONS",
    "THRESHOLDS",
    "OutputLayer",
    "SNNFileError",
    "SpikingLayer",
    "SpikingNetwork",
    "SpikingSPINN",
    "calibrate",
    "choose_thresholds",
    "convert",
    "options_for",
    "parse_mlp",
    "quantize",
    "rel_l2",
    "simulate",
]
