"""Parametrisations as data: init variances, multipliers and LR factors in width n and depth L.

Spec: ``papers/depth.md`` section 1 (arXiv 2512.21075 and its anchors, TP5/TP6 and ``mup``).
A scheme is a small frozen dataclass; it never touches a model. :func:`stablelearn.depth.parametrize`
applies it. Every rule is a function of the width multiplier ``m_n = n / n0`` and the depth multiplier
``m_L = L / L0`` and of a parameter *role*:

========== ===================================================================================
role       meaning
========== ===================================================================================
input      stem weight, fan_in finite (data dim), fan_out ~ n  ("vector-like" in ``mup``)
hidden     weight outside the residual blocks with fan_in and fan_out ~ n ("matrix-like")
block      the last (or only) weight layer inside a residual block (matrix-like)
block_inner a weight layer inside a multi-layer block that is *not* its last one
output     readout weight, fan_in ~ n, fan_out finite (vector-like)
vector     a bias or gain of size ~ n outside the blocks (vector-like)
block_vector a bias or gain inside a residual block
fixed      a parameter with no width dimension (e.g. the readout bias)
========== ===================================================================================
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

ROLES = ("input", "hidden", "block", "block_inner", "output", "vector", "block_vector", "fixed")
OPTIMIZERS = ("sgd", "adam")
_MATRIX_LIKE = ("hidden", "block", "block_inner")
_VECTOR_LIKE = ("input", "output", "vector", "block_vector")
_BLOCK = ("block", "block_inner", "block_vector")


def check_optimizer(optimizer: str) -> str:
    """Normalise an optimizer family name: ``"sgd"`` or ``"adam"`` (``"adamw"`` counts as Adam)."""
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a str ('sgd' or 'adam'), got {type(optimizer).__name__}")
    name = optimizer.lower()
    name = "adam" if name == "adamw" else name
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of 'sgd', 'adam', 'adamw'; got {optimizer!r}")
    return name


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}; got {role!r}")


def _check_mult(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")


@dataclass(frozen=True)
class Parametrization:
    """Base class: standard parametrisation (SP) rules, overridden by the subclasses.

    SP (spec 1.1): every multiplier is 1, every weight has init variance 1/fan_in, and SGD and Adam use
    one global learning rate (tuned per width and depth). ``branch_mult`` is the tuned branch constant
    ``a`` of spec 1.2.
    """

    branch_mult: float = 1.0
    name: ClassVar[str] = "SP"
    optimizers: ClassVar[tuple[str, ...]] = OPTIMIZERS

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{type(self).__name__}.{f.name} must be a finite number, got {value!r}")
        _check_mult(self.branch_mult, "branch_mult")

    # --- forward pass -------------------------------------------------------------------------
    def branch_multiplier(self, m_L: float) -> float:
        """Constant multiplying each residual branch: h_l = h_{l-1} + mult * branch(h_{l-1})."""
        _check_mult(m_L, "m_L")
        return float(self.branch_mult)

    def output_multiplier(self, m_n: float) -> float:
        """Constant multiplying the readout's output (spec 1.1: 1 in SP, 1/m_n in muP)."""
        _check_mult(m_n, "m_n")
        return 1.0

    def init_std(self, role: str, fan_in: int, m_n: float) -> float:
        """Standard deviation of the Gaussian init of a parameter (biases: 0). Spec 1.1 'init var'."""
        _check_role(role)
        _check_mult(m_n, "m_n")
        if role in ("vector", "block_vector", "fixed"):
            return 0.0
        if not isinstance(fan_in, int) or fan_in < 1:
            raise ValueError(f"fan_in must be a positive int, got {fan_in!r}")
        return 1.0 / math.sqrt(fan_in)

    # --- learning rates -----------------------------------------------------------------------
    def _check_opt(self, optimizer: str) -> str:
        opt = check_optimizer(optimizer)
        if opt not in self.optimizers:
            raise ValueError(f"scheme {self.name} has no learning-rate rule for optimizer {opt!r}; "
                             f"it has rules for {self.optimizers}")
        return opt

    def width_lr_factor(self, role: str, optimizer: str, m_n: float) -> float:
        """Width part of the per-parameter LR factor (spec 1.1)."""
        _check_role(role)
        self._check_opt(optimizer)
        _check_mult(m_n, "m_n")
        return 1.0

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        """Depth part of the per-parameter LR factor (spec 1.2, 1.3)."""
        _check_role(role)
        self._check_opt(optimizer)
        _check_mult(m_L, "m_L")
        return 1.0

    def lr_factor(self, role: str, optimizer: str, m_n: float, m_L: float) -> float:
        """LR of a parameter of this role = base LR * width factor * depth factor."""
        return self.width_lr_factor(role, optimizer, m_n) * self.depth_lr_factor(role, optimizer, m_L)

    # --- presentation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-able description; :func:`scheme_from_dict` inverts it."""
        return {"scheme": type(self).__name__, **asdict(self)}

    def table(self, width: int, depth: int, *, base_width: int = 1, base_depth: int = 1,
              optimizer: str = "sgd", in_dim: int = 1) -> str:
        """Markdown table of init std and LR factor per role at (n, L), with the branch and readout
        multipliers in its heading, like spec section 1."""
        opt = self._check_opt(optimizer)
        m_n, m_L = width / base_width, depth / base_depth
        rows = ["| role | init std | LR factor |", "|---|---|---|"]
        for role in ROLES:
            fan_in = in_dim if role == "input" else width
            rows.append(f"| {role} | {self.init_std(role, fan_in, m_n):.4g} | {self.lr_factor(role, opt, m_n, m_L):.4g} |")
        head = (f"{self.name} at n={width} (n0={base_width}), L={depth} (L0={base_depth}), {opt}: "
                f"branch multiplier {self.branch_multiplier(m_L):.4g}, readout multiplier {self.output_multiplier(m_n):.4g}")
        return head + "\n" + "\n".join(rows)


@dataclass(frozen=True)
class SP(Parametrization):
    """Standard parametrisation (spec 1.1): multipliers 1, init var 1/fan_in, one global LR."""

    name: ClassVar[str] = "SP"


@dataclass(frozen=True)
class MuP(Parametrization):
    """muP in ``mup``'s "no multiplier except readout" form (spec 1.1, TP5 Table 3); width only.

    Readout multiplier ``output_mult / m_n`` and init variance ``m_n / fan_in = 1/n0`` (or 0 with
    ``readout_zero_init``). SGD (``MuSGD``): vector-like LR x m_n, matrix-like x1. Adam (``MuAdam``):
    matrix-like LR / m_n, vector-like x1. No depth scaling: the branch multiplier is ``branch_mult``.
    """

    output_mult: float = 1.0
    readout_zero_init: bool = False
    name: ClassVar[str] = "muP"

    def output_multiplier(self, m_n: float) -> float:
        _check_mult(m_n, "m_n")
        return self.output_mult / m_n

    def init_std(self, role: str, fan_in: int, m_n: float) -> float:
        std = super().init_std(role, fan_in, m_n)
        if role == "output":
            return 0.0 if self.readout_zero_init else std * math.sqrt(m_n)
        return std

    def width_lr_factor(self, role: str, optimizer: str, m_n: float) -> float:
        opt = self._check_opt(optimizer)
        super().width_lr_factor(role, opt, m_n)
        if opt == "sgd":
            return m_n if role in _VECTOR_LIKE else 1.0
        return 1.0 / m_n if role in _MATRIX_LIKE else 1.0


@dataclass(frozen=True)
class DepthMuP(MuP):
    """Depth-muP of TP6 (spec 1.2): branch multiplier ``a * m_L^-alpha``, block updates of size L^-gamma.

    Block LR factors on top of muP's width factors: SGD ``m_L^(alpha-gamma)``, Adam ``m_L^-gamma``.
    alpha = gamma = 1/2 is Depth-muP; (1/2, 0) is "scale blocks only"; (1, 0) is the ODE / 1/L scaling.
    Stem, readout and the vectors outside the blocks have no depth factor.
    """

    alpha: float = 0.5
    gamma: float = 0.5
    name: ClassVar[str] = "depth-muP"

    def branch_multiplier(self, m_L: float) -> float:
        _check_mult(m_L, "m_L")
        return self.branch_mult * m_L ** (-self.alpha)

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        opt = self._check_opt(optimizer)
        super().depth_lr_factor(role, opt, m_L)
        if role not in _BLOCK:
            return 1.0
        return m_L ** (self.alpha - self.gamma) if opt == "sgd" else m_L ** (-self.gamma)


@dataclass(frozen=True)
class DepthMuPCorrected(DepthMuP):
    """Depth-muP plus the depth-aware LR correction of arXiv 2512.21075 v1 -- RECONSTRUCTED (spec 1.3, 4).

    The paper's formula could not be read. Reconstruction: every weight layer of a multi-layer residual
    block that is not the block's last layer (role ``block_inner``) gets its LR multiplied by
    ``m_L ** beta`` (``beta = first_layer_lr_exponent``, default 1/2), for SGD and Adam alike; all other
    parameters keep depth-muP's rule. ``beta = 0`` is exactly :class:`DepthMuP`; the spec's alternatives
    (beta = 1/4 or 1) are one argument away. Experimental: with true backprop the boost can grow with L
    (spec 4, caveat).
    """

    beta: float = 0.5
    name: ClassVar[str] = "depth-muP+corr"

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        factor = super().depth_lr_factor(role, optimizer, m_L)
        return factor * m_L ** self.beta if role == "block_inner" else factor


@dataclass(frozen=True)
class CompleteP(DepthMuP):
    """CompleteP (Dey et al. 2025; spec 1.2 row, from memory [A?]): alpha = 1, Adam block LR m_L^(alpha-1).

    The spec gives no SGD rule, so ``optimizer="sgd"`` raises. Not implemented from the table: the LN/bias
    LR factor and Adam's epsilon scaling (our networks have neither norms nor block biases by default).
    """

    alpha: float = 1.0
    gamma: float = 0.0
    name: ClassVar[str] = "CompleteP"
    optimizers: ClassVar[tuple[str, ...]] = ("adam",)


SCHEMES = {cls.__name__: cls for cls in (SP, MuP, DepthMuP, DepthMuPCorrected, CompleteP)}


def scheme_from_dict(spec: dict) -> Parametrization:
    """Rebuild a scheme from :meth:`Parametrization.to_dict` output."""
    if not isinstance(spec, dict) or "scheme" not in spec:
        raise TypeError("spec must be a dict with a 'scheme' key, as written by Parametrization.to_dict()")
    kwargs = dict(spec)
    name = kwargs.pop("scheme")
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; expected one of {sorted(SCHEMES)}")
    return SCHEMES[name](**kwargs)


def check_scheme(scheme: object) -> Parametrization:
    """Return ``scheme`` if it is a :class:`Parametrization`, else raise naming the known schemes."""
    if not isinstance(scheme, Parametrization):
        raise ValueError(f"scheme must be a Parametrization instance (one of {sorted(SCHEMES)}), got {scheme!r}")
    return scheme
