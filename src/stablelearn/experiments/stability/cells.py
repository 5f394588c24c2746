"""The one sweep of the stability reproduction: every check (V1-V9) is a cell of a single ``ctx.map``, so
``--jobs 2`` runs two checks at a time. A cell is ``{"check": name, **config, "seed": seed}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .energy import v5_jordan, v7_ista, v8_energy
from .gd_sgd import v1_gd_threshold, v2_logistic_twin, v3_mean_square
from .networks import v6_edge_of_stability, v9_relu_selection
from .residual import v4_linear_cfl, v4_nonlinear_cfl, v4_resnet_depth

CHECKS: dict[str, Callable[[dict], Any]] = {
    "v1": v1_gd_threshold, "v2": v2_logistic_twin, "v3": v3_mean_square, "v4_linear": v4_linear_cfl,
    "v4_nonlinear": v4_nonlinear_cfl, "v4_resnet": v4_resnet_depth, "v5": v5_jordan, "v6": v6_edge_of_stability,
    "v7": v7_ista, "v8": v8_energy, "v9": v9_relu_selection,
}


def run_check(cell: dict) -> Any:
    """The dispatcher cell: run the check named by ``cell["check"]`` on the rest of the cell."""
    config = {k: v for k, v in cell.items() if k != "check"}
    return CHECKS[cell["check"]](config)


def sweep_cells(config: dict, seed: int) -> list[dict]:
    """One cell per check, and one V6 cell per learning rate."""
    cells = [{"check": name, **config[name], "seed": seed} for name in CHECKS if name != "v6"]
    v6 = {k: v for k, v in config["v6"].items() if k != "etas"}
    cells += [{"check": "v6", **v6, "eta": eta, "seed": seed} for eta in config["v6"]["etas"]]
    return cells
