"""Reduced basis neural operator with FOSLS (arXiv 2512.21319): see ``docs/rbno.md``."""

from .diffusion import DarcyFlow, Diffusion, HeatConduction, matern_kl, rectangle_mesh
from .elasticity import Elasticity
from .fosls import FOSLSProblem, Solution

__all__ = ["DarcyFlow", "Elasticity", "Diffusion", "FOSLSProblem", "HeatConduction", "Solution", "matern_kl",
           "rectangle_mesh"]

from .baselines import FNOBaseline, PCANet, PenalisedReducedFOSLS
from .metrics import effectivity, fosls_values, relative_error
from .network import RBNO, Prediction, TrainResult
from .pod import PODBasis, pod
from .reduced import ReducedFOSLS, ReducedSystem

__all__ += ["FNOBaseline", "PCANet", "PenalisedReducedFOSLS", "effectivity", "fosls_values",
            "relative_error", "RBNO", "Prediction", "TrainResult", "PODBasis", "pod", "ReducedFOSLS",
            "ReducedSystem"]
