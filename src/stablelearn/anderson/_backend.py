"""The few array operations the solvers need, for NumPy arrays and torch tensors alike.

Everything else (``+``, ``-``, ``*``, ``@``) is shared syntax. Small least-squares problems
(m x m) are always solved on the host in float64 NumPy; the long vectors stay in the caller's
backend, dtype and device.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

try:  # torch is a core dependency of stablelearn, but keep this module importable without it
    import torch
except ImportError:  # pragma: no cover
    torch = None


from scipy.linalg.blas import dgemv as _dgemv, dnrm2 as _dnrm2, sgemv as _sgemv, snrm2 as _snrm2  # noqa: E402

_NRM2 = {np.dtype(np.float64): _dnrm2, np.dtype(np.float32): _snrm2}
_GEMV = {np.dtype(np.float64): _dgemv, np.dtype(np.float32): _sgemv}

#: A 1-D NumPy array or torch tensor: the one array type of ``stablelearn.anderson``.
Array = Union[np.ndarray, "torch.Tensor"]


def is_torch(x: Any) -> bool:
    """Whether ``x`` is a torch tensor."""
    if type(x) is np.ndarray:  # the common case first: isinstance against torch.Tensor is slow
        return False
    return torch is not None and isinstance(x, torch.Tensor)


def as_vector(x: Any, name: str) -> Array:
    """A validated copy of a 1-D real array or tensor.

    NumPy input of integer or bool dtype becomes float64; float dtypes are kept. Complex, string and
    object inputs raise :class:`TypeError`; wrong rank, empty or non-finite input :class:`ValueError`.
    """
    if is_torch(x):
        if x.is_complex() or not x.is_floating_point():
            raise TypeError(f"{name} must be a real floating tensor, got dtype {x.dtype}")
        if x.ndim != 1:
            raise ValueError(f"{name} must be a 1-D tensor, got shape {tuple(x.shape)}")
        out = x.detach().clone()
    else:
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
        out = np.array(arr, dtype=np.float64 if arr.dtype.kind != "f" else None)
        if out.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array, got shape {out.shape}")
    if out.shape[0] == 0:
        raise ValueError(f"{name} must be non-empty")
    if not all_finite(out):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return out


def is_real_float(x: Any) -> bool:
    """Whether ``x`` is a NumPy array or torch tensor of a real floating dtype."""
    if is_torch(x):
        return x.is_floating_point()
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def same_kind(x: Any, like: Any) -> bool:
    """Whether ``x`` has the backend, dtype and device of ``like``."""
    if is_torch(x) != is_torch(like):
        return False
    if is_torch(x):
        return x.dtype == like.dtype and x.device == like.device
    return x.dtype == like.dtype


def eps(x: Any) -> float:
    """Machine epsilon of ``x``'s dtype."""
    return float(torch.finfo(x.dtype).eps) if is_torch(x) else float(np.finfo(x.dtype).eps)


def norm(x: Any) -> float:
    """Euclidean norm that does not overflow: finite for every finite ``x`` whose norm is representable.

    NumPy float arrays go to BLAS ``nrm2``, which scales as it sums. Otherwise the fast path squares the
    entries, and when the square overflows (or underflows for a non-zero vector) the norm is recomputed
    on ``x / max|x|`` (max-abs scaling). Returns inf or NaN only when ``x`` holds inf or NaN, or when
    the norm itself exceeds the largest float.
    """
    if type(x) is np.ndarray and x.dtype in _NRM2 and x.ndim == 1:
        return float(_NRM2[x.dtype](x))
    if is_torch(x):
        v = float(torch.dot(x, x))
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            v = float(np.dot(x, x))
    if 1e-280 < v < 1e280:
        return float(np.sqrt(v))
    scale = float(torch.max(torch.abs(x))) if is_torch(x) else float(np.max(np.abs(x)))
    if scale == 0.0 or not np.isfinite(scale):  # zero vector, or inf/NaN entries
        return scale
    y = x / scale
    s = float(torch.dot(y, y)) if is_torch(y) else float(np.dot(y, y))
    with np.errstate(over="ignore"):
        return float(np.float64(scale) * np.sqrt(s))


def vdot(a: Any, b: Any) -> float:
    """Dot product as a Python float."""
    return float(torch.dot(a, b)) if is_torch(a) else float(np.dot(a, b))


def all_finite(x: Any) -> bool:
    """Whether every entry of ``x`` is finite.

    Fast path: a finite norm (or, for tensors, sum) proves every entry finite (one pass, no temporary);
    otherwise it is settled entry by entry (the norm of finite entries can overflow).
    """
    if is_torch(x):
        return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())
    return bool(np.isfinite(norm(x))) or bool(np.isfinite(x).all())


def copy(x: Any) -> Any:
    """A copy in the same backend."""
    return x.clone() if is_torch(x) else x.copy()


def zeros(shape: tuple[int, ...], like: Any) -> Any:
    """Zeros of ``shape`` in the backend, dtype and device of ``like``."""
    if is_torch(like):
        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    return np.zeros(shape, dtype=like.dtype)


def to_host(v: Any) -> np.ndarray:
    """Small vector/matrix -> float64 NumPy on the host."""
    if is_torch(v):
        return v.detach().to("cpu", torch.float64).numpy()
    return np.asarray(v, dtype=np.float64)


def from_host(v: np.ndarray, like: Any) -> Any:
    """Small float64 NumPy vector/matrix -> the backend, dtype and device of ``like``."""
    if is_torch(like):
        return torch.as_tensor(v, dtype=like.dtype, device=like.device)
    return v.astype(like.dtype, copy=False)


def sign(x: Any) -> Any:
    """Elementwise sign."""
    return torch.sign(x) if is_torch(x) else np.sign(x)


def clip(x: Any, lo: Any, hi: Any) -> Any:
    """Elementwise clipping to ``[lo, hi]`` (either may be None)."""
    if is_torch(x):
        lo_t = None if lo is None else torch.as_tensor(lo, dtype=x.dtype, device=x.device)
        hi_t = None if hi is None else torch.as_tensor(hi, dtype=x.dtype, device=x.device)
        return torch.clamp(x, lo_t, hi_t)
    return np.clip(x, lo, hi)


def shrink(x: Any, t: float) -> Any:
    """Soft-thresholding sign(x) * max(|x| - t, 0)."""
    if is_torch(x):
        return torch.sign(x) * torch.clamp(torch.abs(x) - t, min=0.0)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def abs_sum(x: Any) -> float:
    """Sum of absolute values as a Python float."""
    return float(torch.abs(x).sum()) if is_torch(x) else float(np.abs(x).sum())


def random_like(x: Any, seed: Any) -> Any:
    """A standard normal vector shaped like ``x`` from ``seed`` (None, int or Generator; no global RNG)."""
    from .._conventions import as_rng

    v = as_rng(seed).standard_normal(x.shape[0])
    if is_torch(x):
        return torch.as_tensor(v, dtype=x.dtype, device=x.device)
    return v.astype(x.dtype)


def sub_into(a: Any, b: Any, out: Any) -> None:
    """out[...] = a - b without a temporary."""
    if is_torch(out):
        torch.sub(a, b, out=out)
    else:
        np.subtract(a, b, out=out)


def matmul_into(a: Any, b: Any, out: Any) -> None:
    """out[...] = a @ b without a temporary."""
    if is_torch(out):
        torch.matmul(a, b, out=out)
    else:
        np.matmul(a, b, out=out)


def minus_combination(y: Any, coeffs: np.ndarray, rows: Any, inplace: bool = False) -> Any:
    """``y - coeffs @ rows`` (``rows``: a C-contiguous (k, n) block, ``coeffs``: float64 host vector of length
    k); in one BLAS ``gemv`` pass without a temporary for NumPy float arrays, in place if ``inplace``."""
    gemv = _GEMV.get(y.dtype) if type(y) is np.ndarray and type(rows) is np.ndarray else None
    if gemv is not None and rows.dtype == y.dtype and rows.flags.c_contiguous and y.flags.c_contiguous:
        return gemv(-1.0, rows.T, coeffs, 1.0, y, overwrite_y=inplace)
    c = from_host(coeffs, rows) @ rows
    if inplace:
        y -= c
        return y
    return y - c
