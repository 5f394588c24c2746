"""The model as a function of explicit parameters: the one home of probe data, HVPs and measurement mode.

Everything here is built on ``torch.func.functional_call`` so that the parameters become inputs
(docs/stability.md, "How the profile is computed"). The model and the loss are the user's code: every call
into them goes through :func:`forward` and :func:`scalar_loss`, which turn torch's ``RuntimeError`` into a
``ValueError`` that names what did not fit (shapes, dtypes, a non-scalar loss), with the original chained.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jvp, vjp

from stablelearn._conventions import check_choice, check_int, spawn_seeds, torch_generator

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor]
Seed = Any  # None, a non-negative int, a numpy Generator or a torch.Generator

MODES = ("eval", "train")
HVP_MODES = ("auto", "retained", "double-backward", "forward-over-reverse")


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper (the model itself otherwise)."""
    inner = getattr(model, "module", None)
    if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) and isinstance(inner, nn.Module):
        return inner
    return model


def check_model(model: object) -> nn.Module:
    """``model`` unwrapped from DDP, after checking it is an ``nn.Module`` with a parameter requiring grad.

    Raises
    ------
    TypeError
        When ``model`` is not an ``nn.Module``.
    ValueError
        When no parameter requires grad.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    model = unwrap(model)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no parameters requiring grad; nothing to measure")
    return model


def check_loss_fn(loss_fn: object) -> LossFn:
    """``loss_fn`` if it is callable, else a ``TypeError``."""
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable loss_fn(outputs, targets), got {type(loss_fn).__name__}")
    return loss_fn


def forward(call: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, what: str = "model") -> torch.Tensor:
    """``call(x)``, with torch's errors re-raised as a ``ValueError`` naming the input's shape and dtype."""
    try:
        out = call(x)
    except (RuntimeError, IndexError) as err:
        raise ValueError(f"{what} failed on inputs of shape {tuple(x.shape)} and dtype {x.dtype} (check the input "
                         f"width and dtype against the model): {err}") from err
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{what} must return a tensor, got {type(out).__name__}")
    return out


def scalar_loss(loss_fn: LossFn, out: torch.Tensor, y: torch.Tensor, *, need_graph: bool = True) -> torch.Tensor:
    """``loss_fn(out, y)`` checked to be a scalar tensor (with a graph when ``need_graph``).

    Raises
    ------
    ValueError
        When the loss fails on these outputs and targets (shape mismatch: the message gives both shapes), is not
        a scalar (e.g. ``reduction="none"``), or does not depend on the parameters (no autograd graph).
    """
    try:
        loss = loss_fn(out, y)
    except (RuntimeError, IndexError) as err:
        raise ValueError(f"loss_fn failed on outputs of shape {tuple(out.shape)} and targets of shape "
                         f"{tuple(y.shape)} (dtype {y.dtype}): {err}") from err
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor (a mean-reduced loss), got {shape}")
    if need_graph and not loss.requires_grad:
        raise ValueError("loss_fn returned a tensor without an autograd graph (detached, or built outside torch): "
                         "the Hessian needs a loss computed from the model's outputs with torch operations")
    return loss.reshape(())


class ParamSpace:
    """The trainable parameters of ``model`` as one flat vector (names, shapes, flatten/unflatten)."""

    def __init__(self, model: nn.Module) -> None:
        model = check_model(model)
        self.model = model
        named = list(model.named_parameters())
        self.names = [n for n, p in named if p.requires_grad]
        self.frozen = {n: p.detach() for n, p in named if not p.requires_grad}
        self.shapes = [p.shape for n, p in named if p.requires_grad]
        self.sizes = [p.numel() for n, p in named if p.requires_grad]
        self.size = int(sum(self.sizes))
        first = next(p for _, p in named if p.requires_grad)
        self.dtype, self.device = first.dtype, first.device

    def params(self) -> list[torch.Tensor]:
        """The trainable parameter tensors, in ``names`` order."""
        named = dict(self.model.named_parameters())
        return [named[n] for n in self.names]

    def flat(self) -> torch.Tensor:
        """The current parameters, detached, as one flat vector."""
        return torch.cat([p.detach().reshape(-1) for p in self.params()])

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a flat vector into a ``{name: tensor}`` dict of the trainable parameters."""
        return dict(zip(self.names, (t.view(s) for t, s in zip(torch.split(flat, self.sizes), self.shapes))))

    def flatten(self, tree: dict[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate a ``{name: tensor}`` dict into one flat vector."""
        return torch.cat([tree[n].reshape(-1) for n in self.names])

    def call(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """``model(x)`` with the trainable parameters replaced by the dict ``params``.

        The torch.func transforms act on dicts, not on slices of a flat vector: forward-over-reverse
        through a slicing view fails in torch ("ZeroTensors are immutable").
        """
        buffers = dict(self.model.named_buffers())
        return forward(lambda z: functional_call(self.model, ({**params, **self.frozen, **buffers},), (z,)), x)

    def random_unit(self, seed: Seed) -> torch.Tensor:
        """A seeded Gaussian unit vector in parameter space."""
        return random_unit(self.size, seed, self.dtype, self.device)


def random_unit(n: int, seed: Seed, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A Gaussian unit vector of length ``n`` from ``seed`` (None, int, numpy or torch Generator); the global
    torch RNG is neither read nor changed."""
    gen = torch_generator(seed)
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    return v / v.norm()


def aux_seeds(seed: Seed, n: int) -> list[int]:
    """``n`` independent seeds for auxiliary streams derived from ``seed`` (``spawn_seeds``; a torch Generator
    draws them from its own stream, None from fresh entropy)."""
    if isinstance(seed, torch.Generator):
        return [int(v) for v in torch.randint(0, 2**31 - 1, (n,), generator=seed)]
    return spawn_seeds(np.random.SeedSequence() if seed is None else seed, n)


def _as_tensor(value: object, name: str, dtype: torch.dtype | None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got a NumPy array of dtype {value.dtype}")
        t = torch.as_tensor(value)
        return t.to(dtype) if dtype is not None and t.is_floating_point() else t
    raise TypeError(f"{name} must be a torch.Tensor or a NumPy array, got {type(value).__name__}")


def _pair(item: object, where: str, dtype: torch.dtype | None) -> Batch:
    x, y = _as_tensor(item[0], f"{where} inputs", dtype), _as_tensor(item[1], f"{where} targets", dtype)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: inputs and targets need a batch dimension, got shapes {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{where}: inputs have {x.shape[0]} rows but targets have {y.shape[0]}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{where}: inputs contain NaN or inf")
    return x, y


def as_batches(data: object, *, chunk_size: int | None = None, device: torch.device | None = None,
               dtype: torch.dtype | None = None) -> list[Batch]:
    """Normalise ``data`` to a list of ``(inputs, targets)`` chunks.

    Parameters
    ----------
    data : tuple or iterable
        An ``(inputs, targets)`` pair of tensors or NumPy arrays (split into chunks of ``chunk_size`` rows when
        given), or any iterable of such pairs, e.g. a ``DataLoader``. NumPy floating arrays are cast to
        ``dtype`` (the model's). The chunks are fixed once so that every HVP of a spectral solve sees the
        same probe set (a fixed, large probe: docs/stability.md, "Probe set").
    chunk_size : int, optional
        Rows per chunk for a pair.
    device, dtype : optional
        Where to put the chunks; the floating dtype of NumPy inputs.

    Raises
    ------
    TypeError
        For anything else than a pair or an iterable of pairs.
    ValueError
        For an empty probe set, mismatched row counts or non-finite inputs.
    """
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", low=1)
    arrays = (torch.Tensor, np.ndarray)
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, arrays) for t in data):
        x, y = _pair(data, "data", dtype)
        step = chunk_size or max(int(x.shape[0]), 1)
        batches = [(x[i : i + step], y[i : i + step]) for i in range(0, x.shape[0], step)]
    elif isinstance(data, Iterable) and not isinstance(data, (torch.Tensor, np.ndarray, str, bytes, dict)):
        batches = []
        for i, item in enumerate(data):
            if not (isinstance(item, (tuple, list)) and len(item) >= 2):
                raise TypeError(f"data: batch {i} of the loader must be an (inputs, targets) pair, got "
                                f"{type(item).__name__}")
            batches.append(_pair(item, f"data batch {i}", dtype))
    else:
        raise TypeError("data must be an (inputs, targets) pair of tensors or NumPy arrays, or an iterable of such "
                        f"pairs (a DataLoader), got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    batches = [(x, y) for x, y in batches if x.shape[0] > 0]
    if not batches:
        raise ValueError("data: the probe set is empty")
    if device is not None:
        batches = [(x.to(device), y.to(device)) for x, y in batches]
    return batches


@contextlib.contextmanager
def measurement_mode(model: nn.Module, mode: str) -> Iterator[None]:
    """Put ``model`` in the measurement mode and restore every module's mode afterwards.

    ``"eval"`` (default everywhere): BatchNorm uses its running statistics (frozen), dropout is off, so the
    measured map is deterministic and, without BatchNorm in train mode, block-diagonal across examples.
    ``"train"``: measure the map the optimizer sees (batch statistics, dropout active); the dropout masks
    then differ between HVPs, so use it only for models without dropout. Any active ``torch.autocast`` is
    switched off inside: measurements run in the parameters' dtype (float32 HVPs under AMP;
    docs/stability.md, "AMP and DDP").
    """
    check_choice(mode, "mode", MODES)
    saved = [(m, m.training) for m in model.modules()]
    model.train(mode == "train")
    try:
        with contextlib.ExitStack() as stack:
            for device in ("cpu", "cuda"):
                if torch.is_autocast_enabled(device):
                    stack.enter_context(torch.autocast(device, enabled=False))
            yield
    finally:
        for m, was in saved:
            m.training = was


def total_loss(space: ParamSpace, loss_fn: LossFn, batches: list[Batch]) -> float:
    """Mean loss over all chunks, each chunk weighted by its size (``loss_fn`` must use mean reduction)."""
    n = sum(int(x.shape[0]) for x, _ in batches)
    model = space.model
    with torch.no_grad():
        return float(sum(float(scalar_loss(loss_fn, forward(model, x), y, need_graph=False)) * (x.shape[0] / n)
                         for x, y in batches))


def _grad(outputs, inputs, grad_outputs, *, create_graph=False):
    return torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph,
                               materialize_grads=True)


class Linearization:
    """Matrix-free J v and J^T u of ``f`` at a fixed point ``z``, on one retained autograd graph.

    ``out = f(z)`` is built once; ``J^T u`` is a backward pass and ``J v`` is the derivative of
    ``J^T u0`` with respect to ``u0`` (the double-backward trick), so each product is one backward pass
    on a retained graph. On CPU this is ~15x faster per product than ``torch.func.jvp`` and gives the
    same numbers. ``z`` is a tensor or a dict of tensors (parameters); vectors are flat.
    """

    def __init__(self, f: Callable, z: torch.Tensor | dict[str, torch.Tensor], what: str = "model(x)") -> None:
        self.keys = list(z) if isinstance(z, dict) else None
        leaves = [t.detach().requires_grad_(True) for t in (z.values() if self.keys else [z])]
        self.shapes = [t.shape for t in leaves]
        self.leaves = leaves
        arg = dict(zip(self.keys, leaves)) if self.keys else leaves[0]
        with torch.enable_grad():
            self.out = forward(f, arg, what) if not self.keys else f(arg)
            self.u0 = torch.zeros_like(self.out, requires_grad=True)
            self.gz = _grad(self.out, leaves, self.u0, create_graph=True)

    def _split(self, v: torch.Tensor) -> list[torch.Tensor]:
        sizes = [int(torch.Size(s).numel()) for s in self.shapes]
        return [t.view(s) for t, s in zip(torch.split(v, sizes), self.shapes)]

    def jvp(self, v: torch.Tensor) -> torch.Tensor:
        """J v for a flat ``v``; returns the output-shaped tangent."""
        return _grad(self.gz, self.u0, self._split(v))[0].detach()

    def vjp(self, u: torch.Tensor) -> torch.Tensor:
        """J^T u for an output-shaped ``u``; returns a flat vector."""
        return torch.cat([g.reshape(-1) for g in _grad(self.out, self.leaves, u.view_as(self.out))]).detach()

    def gram(self, v: torch.Tensor) -> torch.Tensor:
        """J^T J v."""
        return self.vjp(self.jvp(v))


class HessianOperator:
    """``v -> H v`` for the Hessian of the mean probe loss, accumulated over chunks (as PyHessian's
    ``dataloader_hv_product``).

    ``hvp_mode``: ``"retained"`` builds each chunk's gradient graph once and differentiates
    ``grad . v`` on it at every HVP (about 1.4 gradients per HVP on CPU; memory of one create_graph
    backward per chunk); ``"double-backward"`` rebuilds the graph at every HVP (PyHessian style; memory
    of one chunk); ``"forward-over-reverse"`` is ``torch.func.jvp`` of the reverse-mode gradient (slower on
    CPU; where torch has no forward-mode formula for an op, e.g. the backward of ``nn.MSELoss`` in torch
    2.13, that chunk falls back to double-backward, which gives the same numbers); ``"auto"`` (default) is
    ``"retained"`` for a single chunk and ``"double-backward"`` otherwise. ``count`` counts full-probe
    HVPs; ``loss`` is the mean probe loss, read from the retained graphs when they were built.
    """

    def __init__(self, space: ParamSpace, loss_fn: LossFn, batches: list[Batch], hvp_mode: str = "auto") -> None:
        self.space, self.loss_fn, self.batches = space, loss_fn, batches
        check_choice(hvp_mode, "hvp_mode", HVP_MODES)
        self.hvp_mode = hvp_mode if hvp_mode != "auto" else ("retained" if len(batches) == 1 else "double-backward")
        self.n = sum(int(x.shape[0]) for x, _ in batches)
        self.theta = space.unflatten(space.flat())
        self._graphs: list | None = None
        self._fallback = False
        self.loss: float | None = None
        self.count = 0

    def _chunk_loss(self, x: torch.Tensor, y: torch.Tensor) -> Callable:
        return lambda params: scalar_loss(self.loss_fn, self.space.call(params, x), y)

    def _gradient_graph(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, float]:
        leaves = {n: t.detach().requires_grad_(True) for n, t in self.theta.items()}
        with torch.enable_grad():
            loss = self._chunk_loss(x, y)(leaves)
            g = torch.autograd.grad(loss, list(leaves.values()), create_graph=True, materialize_grads=True)
        return list(leaves.values()), torch.cat([t.reshape(-1) for t in g]), float(loss.detach())

    def build(self) -> None:
        """Build the retained gradient graphs of every chunk now (and read the probe loss off them)."""
        if self._graphs is None:
            self._graphs = [self._gradient_graph(x, y) for x, y in self.batches]
            self.loss = sum(g[2] * (x.shape[0] / self.n) for g, (x, _) in zip(self._graphs, self.batches))

    def _forward_over_reverse(self, f: Callable, tangent: dict) -> torch.Tensor:
        def g(params):
            loss, pullback = vjp(f, params)  # torch.func.grad would import torch._dynamo (~4 s) on first use
            return pullback(torch.ones_like(loss))[0]

        return self.space.flatten(jvp(g, (self.theta,), (tangent,))[1])

    def _chunk_hvp(self, i: int, v: torch.Tensor) -> torch.Tensor:
        x, y = self.batches[i]
        if self.hvp_mode == "forward-over-reverse" and not self._fallback:
            try:
                return self._forward_over_reverse(self._chunk_loss(x, y), self.space.unflatten(v))
            except RuntimeError as err:
                if "ZeroTensor" not in str(err) and "forward AD" not in str(err):
                    raise
                self._fallback = True  # an op without a forward-mode formula: the same product by double-backward
        leaves, g, _ = self._graphs[i] if self.hvp_mode == "retained" else self._gradient_graph(x, y)
        try:
            return torch.cat([h.reshape(-1) for h in _grad(g, leaves, v)])
        except RuntimeError as err:
            if "derivative for" not in str(err):
                raise
            raise ValueError("model: an operation has no second derivative in torch, so Hessian-vector products "
                             "are impossible through it (e.g. fused attention kernels: build Hugging Face models "
                             f"with attn_implementation='eager'): {err}") from err

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        self.count += 1
        out = torch.zeros_like(v)
        if self.hvp_mode == "retained":
            self.build()
        for i, (x, _) in enumerate(self.batches):
            out += self._chunk_hvp(i, v).detach() * (x.shape[0] / self.n)
        return out
