"""The few array operations the solvers need, for NumPy arrays and torch tensors alike.

Everything else (``+``, ``-``, ``*``, ``@``) is shared syntax. Small least-squares problems
(m x m) are always solved on the host in float64 NumPy; the long vectors stay in the caller's
backend, dtype and device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # torch is a core dependency of stablelearn, but keep this module importable without it
    import torch
except ImportError:  # pragma: no cover
    torch = None


def is_torch(x: Any) -> bool:
    return torch is not None and isinstance(x, torch.Tensor)


def as_vector(x: Any, name: str) -> Any:
    """Validate a 1-D float array/tensor (NumPy or torch); NumPy input is converted to float64."""
    if is_torch(x):
        if x.ndim != 1 or not x.is_floating_point():
            raise ValueError(f"{name} must be a 1-D floating tensor, got shape {tuple(x.shape)} dtype {x.dtype}")
        out = x.detach().clone()
    else:
        out = np.array(x, dtype=np.float64 if not np.issubdtype(np.asarray(x).dtype, np.floating) else None)
        if out.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array, got shape {out.shape}")
    if out.shape[0] == 0:
        raise ValueError(f"{name} must be non-empty")
    if not all_finite(out):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return out


def eps(x: Any) -> float:
    return float(torch.finfo(x.dtype).eps) if is_torch(x) else float(np.finfo(x.dtype).eps)


def norm(x: Any) -> float:
    if is_torch(x):
        return float(torch.linalg.vector_norm(x))
    v = float(np.dot(x, x))  # fast path; np.linalg.norm rescales when the square overflows
    return float(np.sqrt(v)) if v < 1e300 else float(np.linalg.norm(x))


def vdot(a: Any, b: Any) -> float:
    return float(torch.dot(a, b)) if is_torch(a) else float(np.dot(a, b))


def all_finite(x: Any) -> bool:
    return bool(torch.isfinite(x).all()) if is_torch(x) else bool(np.isfinite(x).all())


def copy(x: Any) -> Any:
    return x.clone() if is_torch(x) else x.copy()


def zeros(shape: tuple[int, ...], like: Any) -> Any:
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
    return torch.sign(x) if is_torch(x) else np.sign(x)


def clip(x: Any, lo: Any, hi: Any) -> Any:
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
    return float(torch.abs(x).sum()) if is_torch(x) else float(np.abs(x).sum())


def random_like(x: Any, seed: int | None) -> Any:
    v = np.random.default_rng(seed).standard_normal(x.shape[0])
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
    if is_torch(out):
        torch.matmul(a, b, out=out)
    else:
        np.matmul(a, b, out=out)
