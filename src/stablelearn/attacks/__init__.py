"""Query-exact hard-label attacks on any black box (arXiv 2512.21241: ARS-OPT, PARS-OPT) and the baselines
the paper compares against, as the authors ran them (machanic/hard_label_attacks).

Usage::

    from stablelearn.attacks import HardLabelOracle, PARSOPT
    oracle = HardLabelOracle(model, budget=2000, clip=None)      # clip=None: the paper's protocol
    res = PARSOPT([surrogate], q=100)(oracle, x, y, seed=0)
    res.distance, res.queries, res.status, res.distance_at([500, 1000, 2000])

Every attack is an object called on a :class:`HardLabelOracle`, originals ``x`` and labels ``y``; the
oracle counts queries, enforces the budget and records the best-so-far adversarial points, so the same
wrapper measures peers (ART, Foolbox) through :meth:`HardLabelOracle.as_module`. Statuses are the words of
:data:`STATUSES`; docs/attacks.md lists the input contract and the provenance of every default.
"""
from .ars import ARSOPT, PARSOPT, PRESETS, ARSOPTSubspace, ars_schedule
from .base import STATUSES, Attack, AttackResult
from .hsja import HopSkipJump
from .opt import OPT, PriorOPT, PriorSignOPT, SignOPT
from .oracle import BudgetExhausted, HardLabelOracle, distances_at

__all__ = ["HardLabelOracle", "BudgetExhausted", "Attack", "AttackResult", "STATUSES", "OPT", "SignOPT",
           "PriorOPT", "PriorSignOPT", "HopSkipJump", "ARSOPT", "PARSOPT", "ARSOPTSubspace", "PRESETS",
           "ars_schedule", "distances_at"]
