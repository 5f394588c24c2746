"""stablelearn.stability: the Learning Stability Profile (arXiv 2512.21208, Katende), as a PyTorch toolkit.

The paper is theory and only its abstracts could be read; the profile's components, the energy and the
laws are reconstructions, stated with their provenance in docs/stability.md (v3 reading: the energy
criterion is sufficient only, and a nonpositive exponent is not boundedness).

- spectral primitives: ``sharpness``, ``lambda_min``, ``hessian_eigenvalues``, ``input_jacobian_norm``,
  ``parameter_jacobian_norm`` (``SpectralEstimate``), ``spectral_norm_bound``, ``residual_margins``;
- ``laws``: the analytic step-size laws; ``energy``: the Lyapunov-type energies;
- ``profile``: a one-shot (exact, cold) profile of a checkpoint; ``StabilityMonitor``: the profile tracked
  during training (``SharpnessTracker``: its sharpness tracking across checks);
- ``adapters``: Lightning / Hugging Face callbacks (import-guarded);
- ``ResidualBlock``: :class:`stablelearn.nn.ResidualBlock`, re-exported (the residual-block protocol every
  stablelearn library shares).
"""

from stablelearn._conventions import check_statuses
from stablelearn.nn import ResidualBlock

from . import laws
from .eigen import SpectralEstimate
from .energy import (
    EnergyReport,
    GramianEnergy,
    SupEnergy,
    Trajectory,
    backward_gramian,
    incremental_energy,
    loss_energy,
    sup_energy,
    tangent_trajectory,
    twin_trajectory,
)
from .lipschitz import LipschitzBound, ResidualMargins, residual_margins, spectral_norm_bound
from .monitor import Alert, MonitorHistory, StabilityAlert, StabilityMonitor, StabilityWarning
from .optim import OptimizerInfo, optimizer_info
from .profile import Profile, profile
from .spectral import hessian_eigenvalues, input_jacobian_norm, lambda_min, parameter_jacobian_norm, sharpness
from .tracking import SharpnessTracker

#: Statuses a result can carry: ``SpectralEstimate.status`` (converged, max_iter, non_finite) and
#: ``Trajectory.status`` (completed, diverged).
STATUSES = check_statuses(("converged", "max_iter", "non_finite", "completed", "diverged"), "stability")

__all__ = [
    "Alert", "EnergyReport", "GramianEnergy", "LipschitzBound", "MonitorHistory", "OptimizerInfo", "Profile",
    "ResidualBlock", "ResidualMargins", "STATUSES", "SharpnessTracker", "SpectralEstimate", "StabilityAlert",
    "StabilityMonitor", "StabilityWarning", "SupEnergy", "Trajectory", "backward_gramian", "hessian_eigenvalues",
    "incremental_energy", "input_jacobian_norm", "lambda_min", "laws", "loss_energy", "optimizer_info",
    "parameter_jacobian_norm", "profile", "residual_margins", "sharpness", "spectral_norm_bound", "sup_energy",
    "tangent_trajectory", "twin_trajectory",
]
