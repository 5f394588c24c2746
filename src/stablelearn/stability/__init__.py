"""stablelearn.stability: the Learning Stability Profile (arXiv 2512.21208, Katende), as a PyTorch toolkit.

The paper is theory and only its abstracts could be read; the profile's components, the energy and the
laws are reconstructed in ``shared/papers/stability.md`` (v3 reading: the energy criterion is sufficient
only, and a nonpositive exponent is not boundedness). Each docstring names the spec section it follows.

- spectral primitives: ``sharpness``, ``lambda_min``, ``hessian_eigenvalues``, ``input_jacobian_norm``,
  ``parameter_jacobian_norm`` (``SpectralEstimate``), ``spectral_norm_bound``, ``residual_margins``;
- ``laws``: the formulas of spec §4; ``energy``: the energies of spec §3;
- ``profile``: a one-shot profile of a checkpoint; ``StabilityMonitor``: the profile during training;
- ``adapters``: Lightning / Hugging Face callbacks (import-guarded).
"""

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
from .lipschitz import LipschitzBound, ResidualBlock, ResidualMargins, residual_margins, spectral_norm_bound
from .monitor import Alert, MonitorHistory, StabilityAlert, StabilityMonitor, StabilityWarning
from .optim import OptimizerInfo, optimizer_info
from .profile import Profile, profile
from .spectral import hessian_eigenvalues, input_jacobian_norm, lambda_min, parameter_jacobian_norm, sharpness

__all__ = [
    "Alert", "EnergyReport", "GramianEnergy", "LipschitzBound", "MonitorHistory", "OptimizerInfo", "Profile",
    "ResidualBlock", "ResidualMargins", "SpectralEstimate", "StabilityAlert", "StabilityMonitor",
    "StabilityWarning", "SupEnergy", "Trajectory", "backward_gramian", "hessian_eigenvalues",
    "incremental_energy", "input_jacobian_norm", "lambda_min", "laws", "loss_energy", "optimizer_info",
    "parameter_jacobian_norm", "profile", "residual_margins", "sharpness", "spectral_norm_bound",
    "sup_energy", "tangent_trajectory", "twin_trajectory",
]
