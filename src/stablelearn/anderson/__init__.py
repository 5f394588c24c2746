"""Anderson acceleration as adaptive momentum, and Energy-Guarded AA (arXiv 2512.21269).

:func:`solve` runs GD/ISTA, FISTA, AA-II, AA-II-safe, AA-I-S or EG-AA on a composite problem or a
fixed-point map; :class:`Accelerator` is the stateful AA/EG-AA step for your own loop;
:mod:`~stablelearn.anderson.problems` holds the reproduction suite. Only the paper's abstract could be
read: EG-AA's governor, energy test and restart are reconstructed, and docs/anderson.md says which
part comes from where.
"""

from .accelerator import GOVERNORS, GUARD_REFS, Accelerator, QRWindow, StepInfo
from .dynamics import HighResolutionCoefficients, effective_mass, high_resolution_coefficients
from .maps import L1, Box, ElasticNet, SquaredL2, estimate_L, gd_map, prox_grad_map
from .solve import DEFAULT_PRESET, METHODS, PRESETS, STATUSES, History, SolveResult, solve

__all__ = [
    "Accelerator", "QRWindow", "StepInfo", "GOVERNORS", "GUARD_REFS", "HighResolutionCoefficients",
    "effective_mass", "high_resolution_coefficients", "L1", "Box", "ElasticNet", "SquaredL2", "estimate_L",
    "gd_map", "prox_grad_map", "DEFAULT_PRESET", "METHODS", "PRESETS", "STATUSES", "History", "SolveResult",
    "solve",
]
