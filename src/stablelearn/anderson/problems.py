"""The reproduction suite (docs/anderson.md, "Reproduction"): quadratics, lasso, logistic and ridge regression.

Every constructor returns a ``Problem`` with ``grad`` (of the smooth part), ``F`` (the full
objective), ``value_and_grad`` (both in one call, sharing their work), ``prox`` (None for smooth
problems), ``L``, ``mu``, ``x0`` and a reference ``F_star`` together with how it was obtained
(``F_star_method``: closed form or a high-accuracy solve). Data come from seeded generators or
scikit-learn's bundled data sets (no network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from scipy.special import expit

from .._conventions import as_rng, check_float, check_int
from .maps import L1, ElasticNet
from .solve import SolveResult, solve

DATASETS = ("breast_cancer", "wine", "digits", "diabetes")


@dataclass
class Problem:
    """A composite problem ``min F(x) = phi(x) + psi(x)``.

    Attributes
    ----------
    grad : callable
        Gradient of phi.
    F : callable
        The full objective.
    prox : callable or None
        ``prox(v, h)`` of psi (None for smooth problems).
    L, mu : float
        Lipschitz constant of ``grad`` and strong-convexity modulus (0 if unknown).
    x0 : ndarray
        Starting point.
    F_star, F_star_method : float, str
        Reference optimum and how it was obtained.
    value_and_grad : callable or None
        ``(F(x), grad(x))`` in one call, the two sharing their matrix product (bit for bit the values of
        ``F`` and ``grad``).
    """

    name: str
    grad: Callable[[np.ndarray], np.ndarray]
    F: Callable[[np.ndarray], float]
    prox: Callable[[np.ndarray, float], np.ndarray] | None
    L: float
    x0: np.ndarray
    F_star: float
    F_star_method: str
    mu: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None

    def solve(self, method: str = "egaa", **kwargs: Any) -> SolveResult:
        """Run :func:`~stablelearn.anderson.solve` on this problem from ``x0`` with step ``1/L``, through
        ``value_and_grad`` where the run needs F (EG-AA, FISTA with restart, or ``record_F``, the default),
        else through ``grad`` alone.

        Parameters
        ----------
        method : str, default "egaa"
            A method of ``solve``.
        **kwargs
            Further options of ``solve``.

        Returns
        -------
        SolveResult
        """
        if self.value_and_grad is not None and (method in ("egaa", "fista_restart") or kwargs.get("record_F", True)):
            oracle = {"value_and_grad": self.value_and_grad}
        else:
            oracle = {"grad": self.grad, "F": self.F}
        return solve(self.x0, prox=self.prox, L=self.L, method=method, **oracle, **kwargs)

    def rel_gap(self, F_values: np.ndarray) -> np.ndarray:
        """The relative gap ``(F - F*) / (F(x0) - F*)`` of objective values ``F_values``."""
        return (np.asarray(F_values, dtype=float) - self.F_star) / (self.F(self.x0) - self.F_star)


def quadratic(n: int = 300, kappa: float = 1e4, seed: Any = 0, rotate: bool = True) -> Problem:
    """phi = x^T A x / 2 - b^T x with spectrum logspace(0, -log10 kappa, n) (L = 1, mu = 1/kappa), A
    rotated by a random orthogonal Q (``rotate=False``: diagonal A, O(n) per gradient, for large n).
    F* in closed form.

    Parameters
    ----------
    n : int
        Dimension (>= 2).
    kappa : float
        Condition number (>= 1).
    seed : None, int or numpy.random.Generator
        Seeds b and the rotation.
    rotate : bool
        Rotate the spectrum by a random orthogonal matrix (dense; n <= 4000).

    Returns
    -------
    Problem
    """
    n = check_int(n, "n", low=2)
    kappa = check_float(kappa, "kappa", low=1.0)
    if rotate and n > 4000:
        raise ValueError(f"rotate=True builds a dense n x n matrix; use rotate=False for n={n}")
    rng = as_rng(seed)
    eig = np.logspace(0.0, -np.log10(kappa), n)
    b = rng.standard_normal(n)
    if rotate:
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q * eig) @ Q.T
        A = 0.5 * (A + A.T)
        x_star = Q @ ((Q.T @ b) / eig)
        grad = lambda x: A @ x - b
    else:
        x_star = b / eig
        grad = lambda x: eig * x - b

    def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        g = grad(x)  # phi = x^T (A x - b) / 2 - b^T x / 2
        return 0.5 * (float(x @ g) - float(b @ x)), g

    F_star = -0.5 * float(b @ x_star)
    return Problem(f"quadratic n={n} kappa={kappa:.0e}", grad, lambda x: value_and_grad(x)[0], None, 1.0,
                   np.zeros(n), F_star, "closed form -b^T A^-1 b / 2", mu=1.0 / kappa, info={"kappa": kappa, "n": n},
                   value_and_grad=value_and_grad)


def _polish(p: Problem, x_start: np.ndarray, max_iter: int) -> tuple[float, str]:
    """Refine a reference solution with restarted FISTA and EG-AA (robust) from ``x_start``; keep the best."""
    best = p.F(x_start)
    for method, kw in (("fista_restart", {}), ("egaa", {"preset": "robust"})):
        res = solve(x_start, grad=p.grad, F=p.F, prox=p.prox, L=p.L, method=method, tol=0.0,
                    max_iter=max_iter, **kw)
        best = min(best, float(np.min(res.history.F)))
    return best, f"then {max_iter} iterations each of restarted FISTA and EG-AA(robust), best value"


def lasso(n_samples: int = 300, n_features: int = 600, rho: float = 0.95, seed: Any = 0, *,
          lam_ratio: float = 0.02, l2: float = 0.0, sparsity: float = 0.05, noise: float = 0.1) -> Problem:
    """phi = ||A x - b||^2 / 2 (+ psi = lam ||x||_1 + l2 ||x||^2 / 2), A with AR(1)-correlated columns
    (corr rho^|i-j|), a ``sparsity``-sparse truth, Gaussian noise; lam = lam_ratio ||A^T b||_inf
    (docs/anderson.md, "Reproduction"). F* from scikit-learn's coordinate descent (tol 1e-14), then polished (``_polish``).

    Parameters
    ----------
    n_samples, n_features : int
        Shape of A.
    rho : float
        Correlation of neighbouring columns, in (-1, 1).
    seed : None, int or numpy.random.Generator
        Seeds A, the truth and the noise.
    lam_ratio, l2, sparsity, noise : float
        lam / ||A^T b||_inf, the ridge weight, the share of non-zeros in the truth, the noise level.

    Returns
    -------
    Problem
    """
    n_samples, n_features = check_int(n_samples, "n_samples", low=1), check_int(n_features, "n_features", low=1)
    if not -1.0 < float(rho) < 1.0:
        raise ValueError(f"rho must be in (-1, 1), got {rho!r}")
    lam_ratio, l2 = check_float(lam_ratio, "lam_ratio", low=0.0, low_inclusive=False), check_float(l2, "l2", low=0.0)
    rng = as_rng(seed)
    Z = rng.standard_normal((n_samples, n_features))
    A = np.empty_like(Z)
    A[:, 0] = Z[:, 0]
    for j in range(1, n_features):
        A[:, j] = rho * A[:, j - 1] + np.sqrt(1.0 - rho**2) * Z[:, j]
    truth = np.zeros(n_features)
    k = max(1, int(round(sparsity * n_features)))
    truth[rng.choice(n_features, k, replace=False)] = rng.standard_normal(k)
    b = A @ truth + noise * rng.standard_normal(n_samples)
    lam = lam_ratio * float(np.max(np.abs(A.T @ b)))
    psi = L1(lam) if l2 == 0 else ElasticNet(lam, l2)
    value = lambda x, res: 0.5 * float(res @ res) + psi.value(x)
    grad = lambda x: A.T @ (A @ x - b)
    F = lambda x: value(x, A @ x - b)

    def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        res = A @ x - b
        return value(x, res), A.T @ res
    L = float(np.linalg.norm(A, 2) ** 2)
    from sklearn.linear_model import ElasticNet as SkEN, Lasso as SkLasso

    if l2 == 0:
        est = SkLasso(alpha=lam / n_samples, fit_intercept=False, tol=1e-14, max_iter=200_000)
    else:
        est = SkEN(alpha=(lam + l2) / n_samples, l1_ratio=lam / (lam + l2), fit_intercept=False, tol=1e-14,
                   max_iter=200_000)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(A, b)
    name = f"lasso {n_samples}x{n_features} rho={rho}" + (f" l2={l2:g}" if l2 else "")
    p = Problem(name, grad, F, psi, L, np.zeros(n_features), np.nan, "", mu=0.0, info={"lam": lam, "l2": l2},
                value_and_grad=value_and_grad)
    p.F_star, how = _polish(p, est.coef_.astype(float), 2000)
    p.F_star_method = "sklearn coordinate descent (tol 1e-14), " + how
    return p


@lru_cache(maxsize=None)
def _load(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets as skd

    if dataset == "breast_cancer":
        d = skd.load_breast_cancer()
        return d.data.astype(float), d.target.astype(float)
    if dataset == "wine":  # class 0 vs the rest
        d = skd.load_wine()
        return d.data.astype(float), (d.target == 0).astype(float)
    if dataset == "digits":  # pixels / 16; binary target: even digit
        d = skd.load_digits()
        return d.data / 16.0, d.target.astype(float)
    d = skd.load_diabetes(scaled=False)
    return d.data.astype(float), d.target.astype(float)


def _design(dataset: str, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    X, y = _load(dataset)
    if standardize:
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return X, y


def logistic(dataset: str = "breast_cancer", standardize: bool = True, l2: float = 1e-3, l1: float = 0.0) -> Problem:
    """phi = mean log(1 + exp(-y_i x_i^T w)) + l2 ||w||^2 / 2 (+ psi = l1 ||w||_1), y in {-1, +1}, no
    intercept; binary targets: breast_cancer as given, wine class 0 vs rest, digits even vs odd.
    L = lambda_max(X^T X) / (4 n) + l2. F*: Newton's method to machine precision (l1 = 0), else a
    long restarted-FISTA / EG-AA solve (``_polish``).

    Parameters
    ----------
    dataset : {"breast_cancer", "wine", "digits", "diabetes"}
        A data set bundled with scikit-learn.
    standardize : bool
        Centre and scale the features.
    l2, l1 : float
        Ridge and lasso weights (>= 0).

    Returns
    -------
    Problem
    """
    l2, l1 = check_float(l2, "l2", low=0.0), check_float(l1, "l1", low=0.0)
    X, t = _design(dataset, bool(standardize))
    y = np.where(t % 2 == 0, 1.0, -1.0) if dataset == "digits" else 2.0 * t - 1.0
    n, d = X.shape
    Xy = X * y[:, None]

    # with the margins m = y_i x_i^T w and e = exp(-|m|): log(1 + exp(-m)) = log1p(e) - min(m, 0); the
    # objective and the gradient share m
    def phi_of(w: np.ndarray, m: np.ndarray) -> float:
        e = np.exp(-np.abs(m))
        return (float(np.log1p(e).sum()) - float(np.minimum(m, 0.0).sum())) / n + 0.5 * l2 * float(w @ w)

    def grad_of(w: np.ndarray, m: np.ndarray) -> np.ndarray:
        return -(Xy.T @ expit(-m)) / n + l2 * w

    grad = lambda w: grad_of(w, Xy @ w)
    phi = lambda w: phi_of(w, Xy @ w)

    psi = L1(l1) if l1 > 0 else None
    F = (lambda w: phi(w) + psi.value(w)) if psi is not None else phi

    def value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        m = Xy @ w
        return phi_of(w, m) + (psi.value(w) if psi is not None else 0.0), grad_of(w, m)
    L = float(np.linalg.eigvalsh(X.T @ X)[-1]) / (4 * n) + l2
    name = f"logistic {dataset}{' std' if standardize else ' raw'}" + (f" l1={l1:g}" if l1 else "")
    p = Problem(name, grad, F, psi, L, np.zeros(d), np.nan, "", mu=l2, info={"l2": l2, "l1": l1},
                value_and_grad=value_and_grad)
    if psi is None:
        w = np.zeros(d)
        for _ in range(100):  # damped Newton with Armijo backtracking
            g = grad(w)
            s = expit(Xy @ w)
            H = (X.T * (s * (1 - s))) @ X / n + l2 * np.eye(d)
            step = np.linalg.solve(H, g)
            t_, f0 = 1.0, phi(w)
            while phi(w - t_ * step) > f0 - 1e-4 * t_ * float(g @ step) and t_ > 1e-12:
                t_ *= 0.5
            w = w - t_ * step
            if np.linalg.norm(grad(w)) <= 1e-15 * max(1.0, np.linalg.norm(grad(np.zeros(d)))):
                break
        p.F_star, p.F_star_method = phi(w), f"Newton's method, final |grad| = {np.linalg.norm(grad(w)):.1e}"
    else:
        p.F_star, how = _polish(p, np.zeros(d), 20000)
        p.F_star_method = how.replace("then ", "")
    return p


def ridge(dataset: str = "digits", l2: float = 1e-3, standardize: bool = False) -> Problem:
    """phi = ||X w - y||^2 / (2 n) + l2 ||w||^2 / 2 (regression on the raw target), L = lambda_max(X^T X/n)
    + l2, F* from the normal-equation solve (closed form, float64).

    Parameters
    ----------
    dataset : {"breast_cancer", "wine", "digits", "diabetes"}
        A data set bundled with scikit-learn.
    l2 : float
        Ridge weight (> 0).
    standardize : bool
        Centre and scale the features.

    Returns
    -------
    Problem
    """
    l2 = check_float(l2, "l2", low=0.0, low_inclusive=False)
    X, y = _design(dataset, bool(standardize))
    n, d = X.shape
    G = X.T @ X / n + l2 * np.eye(d)
    c = X.T @ y / n
    value = lambda w, res: 0.5 * float(res @ res) / n + 0.5 * l2 * float(w @ w)
    grad = lambda w: X.T @ (X @ w - y) / n + l2 * w
    F = lambda w: value(w, X @ w - y)

    def value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        res = X @ w - y
        return value(w, res), X.T @ res / n + l2 * w
    eig = np.linalg.eigvalsh(G)
    w_star = np.linalg.solve(G, c)
    return Problem(f"ridge {dataset} l2={l2:g}", grad, F, None, float(eig[-1]), np.zeros(d), F(w_star),
                   "closed form (linear solve)", mu=float(eig[0]), info={"l2": l2, "kappa": float(eig[-1] / eig[0])},
                   value_and_grad=value_and_grad)
