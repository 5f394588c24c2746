"""Reduced basis neural operator with FOSLS (arXiv 2512.21319): see ``docs/rbno.md``."""

from stablelearn._conventions import check_statuses

from .baselines import FNOBaseline, GridFitResult, PCANet, PenalisedReducedFOSLS
from .diffusion import MAX_LOG_FIELD, DarcyFlow, Diffusion, HeatConduction, matern_kl, rectangle_mesh
from .elasticity import Elasticity
from .fosls import FOSLSProblem, LocalData, Solution
from .metrics import effectivity, fosls_values, relative_error
from .network import RBNO, FitResult, Prediction, RBNOEnsemble
from .pod import PODBasis, pod
from .reduced import ReducedFOSLS, ReducedSystem

#: Statuses a :class:`FitResult` or :class:`GridFitResult` can carry (``docs/rbno.md``).
STATUSES = check_statuses(("completed", "non_finite"), "rbno")

__all__ = ["DarcyFlow", "Diffusion", "Elasticity", "FNOBaseline", "FOSLSProblem", "FitResult", "GridFitResult",
           "HeatConduction", "LocalData", "MAX_LOG_FIELD", "PCANet", "PODBasis", "PenalisedReducedFOSLS",
           "Prediction", "RBNO", "RBNOEnsemble", "ReducedFOSLS", "ReducedSystem", "STATUSES", "Solution", "effectivity",
           "fosls_values", "matern_kl", "pod", "rectangle_mesh", "relative_error"]
