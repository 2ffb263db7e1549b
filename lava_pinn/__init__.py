"""lava-pinn: physics-informed neural networks converted to spiking networks for Lava and Loihi 2.

This package is the PyTorch world (problems, models, training, conversion, the torch spiking
simulator). It never imports Lava, so it works on any Python that has torch.
"""

from lava_pinn._version import __version__

# public names imported on first use, so `import lava_pinn` stays light
_LAZY = {
    "convert": "lava_pinn.conversion.convert",
    "SpikingNetwork": "lava_pinn.conversion.network",
    "SpikingSPINN": "lava_pinn.conversion.spinn",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lava_pinn' has no attribute {name!r}")
