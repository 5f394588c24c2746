"""Parametrisations as data: init variances, multipliers and LR factors in width n and depth L.

Sources (``docs/depth.md``, "What comes from where"): muP from TP5 Table 3 in ``mup``'s form, depth-muP
from TP6 (Yang et al., arXiv:2310.02244), the depth-aware LR correction of arXiv 2512.21075 v1
(reconstructed) and CompleteP (Dey et al. 2025, from memory). A scheme is a small frozen dataclass; it
never touches a model. :func:`stablelearn.depth.parametrize` applies it. Every rule is a function of
the width multiplier ``m_n = n / n0``, the depth multiplier ``m_L = L / L0`` and a parameter *role*:

============ =================================================================================
role         meaning
============ =================================================================================
input        stem weight, fan_in finite (data dim), fan_out ~ n  ("vector-like" in ``mup``)
hidden       weight outside the residual blocks with fan_in and fan_out ~ n ("matrix-like")
block        the last (or only) weight layer inside a residual block (matrix-like)
block_inner  the first weight layer of a multi-layer block (matrix-like)
block_middle a weight layer of a block of three or more layers that is neither first nor last
output       readout weight, fan_in ~ n, fan_out finite (vector-like)
vector       a bias or gain of size ~ n outside the blocks (vector-like)
block_vector a bias or gain inside a residual block
fixed        a parameter with no width dimension (e.g. the readout bias)
============ =================================================================================
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

from stablelearn._conventions import check_bool, check_choice, check_float, check_int

__all__ = ["ROLES", "OPTIMIZERS", "Parametrization", "SP", "MuP", "DepthMuP", "DepthMuPCorrected", "CompleteP",
           "scheme_from_dict", "check_scheme", "check_optimizer"]

ROLES = ("input", "hidden", "block", "block_inner", "block_middle", "output", "vector", "block_vector", "fixed")
OPTIMIZERS = ("sgd", "adam")
_MATRIX_LIKE = ("hidden", "block", "block_inner", "block_middle")
_VECTOR_LIKE = ("input", "output", "vector", "block_vector")
_BLOCK = ("block", "block_inner", "block_middle", "block_vector")
MAX_EXPONENT = 8.0


def check_optimizer(optimizer: str) -> str:
    """Normalise an optimizer family name.

    Parameters
    ----------
    optimizer : {"sgd", "adam", "adamw"} (any case)

    Returns
    -------
    str
        ``"sgd"`` or ``"adam"`` (``"adamw"`` counts as Adam).
    """
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a str ('sgd' or 'adam'), got {optimizer!r} ({type(optimizer).__name__})")
    name = optimizer.lower()
    name = "adam" if name == "adamw" else name
    return check_choice(name, "optimizer", ("sgd", "adam", "adamw")) if name not in OPTIMIZERS else name


def _mult(value: float, name: str) -> float:
    return check_float(value, name, low=0.0, low_inclusive=False)


def _power(base: float, exponent: float, what: str) -> float:
    """``base ** exponent``, refused (ValueError naming ``what``) when it is not a finite positive float."""
    try:
        value = base ** exponent
    except OverflowError:
        value = math.inf
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} = {base:g}^{exponent:g} is not a finite positive float; use a smaller "
                         "exponent or depth/width ratio")
    return value


@dataclass(frozen=True)
class Parametrization:
    """Base class: the standard parametrisation (SP), overridden by the subclasses.

    SP: every multiplier is 1, every weight has init variance 1/fan_in, and SGD and Adam use one global
    learning rate (tuned per width and depth).

    Parameters
    ----------
    branch_mult : float, default 1
        The tuned branch constant ``a`` of TP6 (finite, > 0).
    """

    branch_mult: float = 1.0
    name: ClassVar[str] = "SP"
    optimizers: ClassVar[tuple[str, ...]] = OPTIMIZERS

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool):
                object.__setattr__(self, f.name, check_bool(value, f"{type(self).__name__}.{f.name}"))
            elif f.type in ("str", str):
                continue
            else:
                object.__setattr__(self, f.name, check_float(value, f"{type(self).__name__}.{f.name}"))
        _mult(self.branch_mult, "branch_mult")

    # --- forward pass -------------------------------------------------------------------------
    def branch_multiplier(self, m_L: float) -> float:
        """Constant multiplying each residual branch: ``h_l = h_{l-1} + mult * branch(h_{l-1})``.

        Parameters
        ----------
        m_L : float
            Depth multiplier L / L0 (> 0).

        Returns
        -------
        float
        """
        _mult(m_L, "m_L")
        return float(self.branch_mult)

    def output_multiplier(self, m_n: float) -> float:
        """Constant multiplying the readout's output (1 in SP, ``1/m_n`` in muP).

        Parameters
        ----------
        m_n : float
            Width multiplier n / n0 (> 0).

        Returns
        -------
        float
        """
        _mult(m_n, "m_n")
        return 1.0

    def init_std(self, role: str, fan_in: int, m_n: float) -> float:
        """Standard deviation of the Gaussian init of a parameter of ``role`` (vectors: 0).

        Parameters
        ----------
        role : str
            One of :data:`ROLES`.
        fan_in : int
            Inputs per output unit (>= 1).
        m_n : float
            Width multiplier.

        Returns
        -------
        float
        """
        check_choice(role, "role", ROLES)
        _mult(m_n, "m_n")
        if role in ("vector", "block_vector", "fixed"):
            return 0.0
        return 1.0 / math.sqrt(check_int(fan_in, "fan_in", low=1))

    # --- learning rates -----------------------------------------------------------------------
    def _check_opt(self, optimizer: str) -> str:
        opt = check_optimizer(optimizer)
        if opt not in self.optimizers:
            raise ValueError(f"scheme {self.name} has no learning-rate rule for optimizer {opt!r}; "
                             f"it has rules for {self.optimizers}")
        return opt

    def width_lr_factor(self, role: str, optimizer: str, m_n: float) -> float:
        """Width part of the per-parameter LR factor (TP5 / ``mup``).

        Parameters
        ----------
        role : str
        optimizer : {"sgd", "adam", "adamw"}
        m_n : float

        Returns
        -------
        float
        """
        check_choice(role, "role", ROLES)
        self._check_opt(optimizer)
        _mult(m_n, "m_n")
        return 1.0

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        """Depth part of the per-parameter LR factor (TP6; the correction of arXiv 2512.21075).

        Parameters
        ----------
        role : str
        optimizer : {"sgd", "adam", "adamw"}
        m_L : float

        Returns
        -------
        float
        """
        check_choice(role, "role", ROLES)
        self._check_opt(optimizer)
        _mult(m_L, "m_L")
        return 1.0

    def lr_factor(self, role: str, optimizer: str, m_n: float, m_L: float) -> float:
        """LR of a parameter of this role = base LR x width factor x depth factor.

        Parameters
        ----------
        role : str
        optimizer : {"sgd", "adam", "adamw"}
        m_n, m_L : float

        Returns
        -------
        float
        """
        return self.width_lr_factor(role, optimizer, m_n) * self.depth_lr_factor(role, optimizer, m_L)

    def adam_eps_factor(self, role: str, m_n: float, m_L: float) -> float:
        """Factor on Adam's epsilon for a parameter of this role (1 except in CompleteP).

        Parameters
        ----------
        role : str
        m_n, m_L : float

        Returns
        -------
        float
        """
        check_choice(role, "role", ROLES)
        _mult(m_n, "m_n")
        _mult(m_L, "m_L")
        return 1.0

    # --- presentation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-able description; :func:`scheme_from_dict` inverts it.

        Returns
        -------
        dict
        """
        return {"scheme": type(self).__name__, **asdict(self)}

    def table(self, width: int, depth: int, *, base_width: int = 1, base_depth: int = 1,
              optimizer: str = "sgd", in_dim: int = 1) -> str:
        """Markdown table of init std and LR factor per role at (n, L), with the branch and readout
        multipliers in its heading (the layout of ``docs/depth.md``'s tables).

        Parameters
        ----------
        width, depth, base_width, base_depth, in_dim : int
            n, L, n0, L0 (all >= 1) and the data dimension.
        optimizer : {"sgd", "adam", "adamw"}

        Returns
        -------
        str
        """
        opt = self._check_opt(optimizer)
        width, depth = check_int(width, "width", low=1), check_int(depth, "depth", low=1)
        base_width = check_int(base_width, "base_width", low=1)
        base_depth = check_int(base_depth, "base_depth", low=1)
        in_dim = check_int(in_dim, "in_dim", low=1)
        m_n, m_L = width / base_width, depth / base_depth
        eps = opt == "adam" and type(self).adam_eps_factor is not Parametrization.adam_eps_factor
        rows = ["| role | init std | LR factor |" + (" Adam eps factor |" if eps else ""),
                "|---|---|---|" + ("---|" if eps else "")]
        for role in ROLES:
            fan_in = in_dim if role == "input" else width
            row = f"| {role} | {self.init_std(role, fan_in, m_n):.4g} | {self.lr_factor(role, opt, m_n, m_L):.4g} |"
            rows.append(row + (f" {self.adam_eps_factor(role, m_n, m_L):.4g} |" if eps else ""))
        head = (f"{self.name} at n={width} (n0={base_width}), L={depth} (L0={base_depth}), {opt}: "
                f"branch multiplier {self.branch_multiplier(m_L):.4g}, readout multiplier {self.output_multiplier(m_n):.4g}")
        return head + "\n" + "\n".join(rows)


@dataclass(frozen=True)
class SP(Parametrization):
    """Standard parametrisation: multipliers 1, init variance 1/fan_in, one global LR."""

    name: ClassVar[str] = "SP"


@dataclass(frozen=True)
class MuP(Parametrization):
    """muP in ``mup``'s "no multiplier except readout" form (TP5 Table 3); width only.

    Readout multiplier ``output_mult / m_n`` and init variance ``m_n / fan_in = 1/n0`` (or 0 with
    ``readout_zero_init``). SGD (``MuSGD``): vector-like LR x m_n, matrix-like x1. Adam (``MuAdam``):
    matrix-like LR / m_n, vector-like x1. No depth scaling: the branch multiplier is ``branch_mult``.

    Parameters
    ----------
    branch_mult : float, default 1
    output_mult : float, default 1
        Finite, > 0.
    readout_zero_init : bool, default False
    """

    output_mult: float = 1.0
    readout_zero_init: bool = False
    name: ClassVar[str] = "muP"

    def __post_init__(self) -> None:
        super().__post_init__()
        _mult(self.output_mult, "output_mult")

    def output_multiplier(self, m_n: float) -> float:
        _mult(m_n, "m_n")
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


def _exponent(value: float, name: str) -> None:
    check_float(value, name, low=-MAX_EXPONENT, high=MAX_EXPONENT)


@dataclass(frozen=True)
class DepthMuP(MuP):
    """Depth-muP of TP6 (arXiv:2310.02244): branch multiplier ``a * m_L^-alpha``, block updates of size L^-gamma.

    Block LR factors on top of muP's width factors: SGD ``m_L^(alpha-gamma)``, Adam ``m_L^-gamma``.
    alpha = gamma = 1/2 is Depth-muP; (1/2, 0) is "scale blocks only"; (1, 0) is the ODE / 1/L scaling.
    Stem, readout and the vectors outside the blocks have no depth factor.

    Parameters
    ----------
    branch_mult, output_mult, readout_zero_init
        As :class:`MuP`.
    alpha, gamma : float, default 0.5
        Exponents, within [-8, 8] (larger ones overflow a float at modest depth ratios).
    """

    alpha: float = 0.5
    gamma: float = 0.5
    name: ClassVar[str] = "depth-muP"

    def __post_init__(self) -> None:
        super().__post_init__()
        _exponent(self.alpha, "alpha")
        _exponent(self.gamma, "gamma")

    def branch_multiplier(self, m_L: float) -> float:
        _mult(m_L, "m_L")
        return self.branch_mult * _power(m_L, -self.alpha, "branch multiplier m_L^-alpha")

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        opt = self._check_opt(optimizer)
        super().depth_lr_factor(role, opt, m_L)
        if role not in _BLOCK:
            return 1.0
        if opt == "sgd":
            return _power(m_L, self.alpha - self.gamma, "block SGD LR factor m_L^(alpha-gamma)")
        return _power(m_L, -self.gamma, "block Adam LR factor m_L^-gamma")


@dataclass(frozen=True)
class DepthMuPCorrected(DepthMuP):
    """Depth-muP plus the depth-aware LR correction of arXiv 2512.21075 v1: RECONSTRUCTED.

    The paper's formula could not be read (``docs/depth.md``, "The correction"). Reconstruction: the
    first internal layer of every multi-layer residual block (role ``block_inner``) gets its LR multiplied
    by ``m_L ** beta``; with ``layers="nonfinal"`` (the default) every non-final internal layer does
    (``block_middle`` too, which only exists in blocks of three or more layers). SGD and Adam alike; all
    other parameters keep depth-muP's rule. ``beta = 0`` is exactly :class:`DepthMuP`. Experimental:
    with true backprop the boost can grow with L (TP6 section 9).

    Parameters
    ----------
    beta : float, default 0.5
        The correction's exponent, within [-8, 8].
    layers : {"nonfinal", "first"}, default "nonfinal"
        Which internal layers get the factor.
    branch_mult, output_mult, readout_zero_init, alpha, gamma
        As :class:`DepthMuP`.
    """

    beta: float = 0.5
    layers: str = "nonfinal"
    name: ClassVar[str] = "depth-muP+corr"

    def __post_init__(self) -> None:
        super().__post_init__()
        _exponent(self.beta, "beta")
        check_choice(self.layers, "layers", ("nonfinal", "first"))

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        factor = super().depth_lr_factor(role, optimizer, m_L)
        boosted = ("block_inner", "block_middle") if self.layers == "nonfinal" else ("block_inner",)
        if role not in boosted:
            return factor
        value = factor * _power(m_L, self.beta, "correction m_L^beta")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"corrected LR factor at m_L={m_L:g} is not a finite positive float")
        return value


@dataclass(frozen=True)
class CompleteP(DepthMuP):
    """CompleteP (Dey et al. 2025), as remembered (``docs/depth.md`` provenance [A?]): Adam only.

    alpha = 1 (branch multiplier ``m_L^-1``); Adam LR of block weights ``m_L^(alpha-1) / m_n``, of block
    biases and gains ``m_L^(alpha-1)``; Adam epsilon of block weights scaled by ``m_n^-1 m_L^-alpha``
    and of block biases and gains by ``m_L^-alpha`` (:meth:`adam_eps_factor`, applied by
    :func:`~stablelearn.depth.param_groups` as each group's ``eps``). Stem and readout keep muP's rules.
    There is no SGD rule, so ``optimizer="sgd"`` raises.

    Parameters
    ----------
    alpha : float, default 1
    branch_mult, output_mult, readout_zero_init
        As :class:`MuP`.
    """

    alpha: float = 1.0
    gamma: float = 0.0
    name: ClassVar[str] = "CompleteP"
    optimizers: ClassVar[tuple[str, ...]] = ("adam",)

    def depth_lr_factor(self, role: str, optimizer: str, m_L: float) -> float:
        self._check_opt(optimizer)
        Parametrization.depth_lr_factor(self, role, optimizer, m_L)
        return _power(m_L, self.alpha - 1.0, "CompleteP LR factor m_L^(alpha-1)") if role in _BLOCK else 1.0

    def adam_eps_factor(self, role: str, m_n: float, m_L: float) -> float:
        super().adam_eps_factor(role, m_n, m_L)
        if role not in _BLOCK:
            return 1.0
        depth = _power(m_L, -self.alpha, "CompleteP eps factor m_L^-alpha")
        return depth / m_n if role in _MATRIX_LIKE else depth


SCHEMES = {cls.__name__: cls for cls in (SP, MuP, DepthMuP, DepthMuPCorrected, CompleteP)}


def scheme_from_dict(data: dict) -> Parametrization:
    """Rebuild a scheme from :meth:`Parametrization.to_dict` output.

    Parameters
    ----------
    data : dict

    Returns
    -------
    Parametrization
    """
    if not isinstance(data, dict) or "scheme" not in data:
        raise TypeError("data must be a dict with a 'scheme' key, as written by Parametrization.to_dict()")
    kwargs = dict(data)
    name = kwargs.pop("scheme")
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; expected one of {sorted(SCHEMES)}")
    return SCHEMES[name](**kwargs)


def check_scheme(scheme: object) -> Parametrization:
    """Return ``scheme`` if it is a :class:`Parametrization`, else raise naming the known schemes.

    Parameters
    ----------
    scheme : object

    Returns
    -------
    Parametrization
    """
    if not isinstance(scheme, Parametrization):
        raise TypeError(f"scheme must be a Parametrization instance (one of {sorted(SCHEMES)}), got {scheme!r}")
    return scheme
