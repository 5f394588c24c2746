"""Width- and depth-transferable parametrisations of ResNets (arXiv 2512.21075; ``docs/depth.md``).

    >>> from stablelearn.depth import ResidualMLP, DepthMuPCorrected, param_groups
    >>> model = ResidualMLP(16, 128, 32, 1, block_layers=2, scheme=DepthMuPCorrected(beta=0.5), base_width=64)
    >>> opt = torch.optim.Adam(param_groups(model, lr=2**-6, optimizer="adam"))  # doctest: +SKIP

``DepthMuPCorrected`` (the paper's depth-aware LR correction) is a reconstruction: see its docstring.
:class:`ResidualBlock` is :class:`stablelearn.nn.ResidualBlock`, re-exported.
"""
from stablelearn.nn import ResidualBlock, is_residual_block

from .batched import train_batched
from .decoupled import decoupled
from .diagnostics import CoordCheck, FeatureUpdates, coord_check, feature_updates, knockouts, snapshot, stream
from .models import ResidualMLP, ResNet
from .parametrize import Parametrized, param_groups, parametrize, record_of
from .schemes import SP, CompleteP, DepthMuP, DepthMuPCorrected, MuP, Parametrization, scheme_from_dict
from .sweep import LRSweepResult, Optimum, Slope, fit_optimum, lr_sweep, train_cell, train_group
from .training import (STATUSES, Task, TrainResult, digits_task, make_optimizer, make_task, teacher_task,
                       train)

__all__ = [
    "SP", "MuP", "DepthMuP", "DepthMuPCorrected", "CompleteP", "Parametrization", "scheme_from_dict",
    "ResidualBlock", "is_residual_block", "ResidualMLP", "ResNet", "parametrize", "param_groups", "record_of",
    "Parametrized", "decoupled", "snapshot", "stream", "feature_updates", "knockouts", "coord_check",
    "CoordCheck", "FeatureUpdates", "Task", "TrainResult", "STATUSES", "teacher_task", "digits_task",
    "make_task", "make_optimizer", "train", "train_batched", "lr_sweep", "LRSweepResult", "Optimum", "Slope",
    "fit_optimum", "train_cell", "train_group",
]
