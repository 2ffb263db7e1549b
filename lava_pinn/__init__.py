"""lava-pinn: physics-informed neural networks converted to spiking networks for Lava and Loihi 2.

This package is the PyTorch world (problems, models, training, conversion, the torch spiking
simulator). It never imports Lava, so it works on any Python that has torch.
"""

from lava_pinn._version import __version__

__all__ = ["__version__"]
