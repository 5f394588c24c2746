"""Reduced basis neural operator with FOSLS (arXiv 2512.21319): see ``docs/rbno.md``."""

from .diffusion import DarcyFlow, Diffusion, HeatConduction, matern_kl, rectangle_mesh
from .fosls import FOSLSProblem, Solution

__all__ = ["DarcyFlow", "Diffusion", "FOSLSProblem", "HeatConduction", "Solution", "matern_kl",
           "rectangle_mesh"]
