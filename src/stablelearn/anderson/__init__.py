"""Anderson acceleration as adaptive momentum, and Energy-Guarded AA (arXiv 2512.21269).

``solve`` runs GD/ISTA, FISTA, AA-II, AA-II-safe, AA-I-S or EG-AA on a composite problem or a
fixed-point map; ``Accelerator`` is the stateful AA/EG-AA step for your own loop; ``problems`` holds the
reproduction suite. The EG-AA algorithm is reconstructed from the paper's abstract (see
``docs/anderson.md`` and the spec): the governor, the energy test and the restart are [I] choices.
"""

from .accelerator import Accelerator, QRWindow, StepInfo
from .dynamics import HighResolutionCoefficients, effective_mass, high_resolution_coefficients
from .maps import L1, Box, ElasticNet, SquaredL2, estimate_L, gd_map, prox_grad_map
from .solve import METHODS, PRESETS, History, SolveResult, solve

__all__ = [
    "Accelerator", "QRWindow", "StepInfo", "HighResolutionCoefficients", "effective_mass",
    "high_resolution_coefficients", "L1", "Box", "ElasticNet", "SquaredL2", "estimate_L",
    "gd_map", "prox_grad_map", "METHODS", "PRESETS", "History", "SolveResult", "solve",
]
