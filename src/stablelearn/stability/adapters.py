"""Thin adapters of ``StabilityMonitor`` for PyTorch Lightning and Hugging Face ``transformers``.

Both import their framework only when called; neither is a dependency of stablelearn. Both are tested against
the real frameworks (docs/stability.md, "Usage").
"""

from __future__ import annotations

from typing import Any

from .monitor import StabilityMonitor

__all__ = ["hf_callback", "lightning_callback"]


def lightning_callback(monitor: StabilityMonitor) -> Any:
    """A Lightning ``Callback`` calling ``monitor.on_step(global_step, optimizer)`` after each training batch.

    Parameters
    ----------
    monitor : StabilityMonitor

    Returns
    -------
    lightning.pytorch.Callback
        It also closes the monitor at the end of training.
    """
    try:
        from lightning.pytorch import Callback  # noqa: PLC0415
    except ImportError:
        try:
            from pytorch_lightning import Callback  # noqa: PLC0415
        except ImportError as err:
            raise ImportError("lightning_callback needs PyTorch Lightning: pip install lightning") from err

    class StabilityCallback(Callback):
        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            """Record the step that just ended."""
            opts = trainer.optimizers
            monitor.on_step(trainer.global_step, opts[0] if opts else None)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            """Close the monitor (hooks and log files)."""
            monitor.close()

    return StabilityCallback()


def hf_callback(monitor: StabilityMonitor) -> Any:
    """A Hugging Face ``TrainerCallback`` calling ``monitor.on_step(state.global_step, optimizer)`` on step end.

    Parameters
    ----------
    monitor : StabilityMonitor
        Built on a module whose ``forward(inputs)`` returns the logits the loss takes (wrap a ``transformers``
        model whose forward takes keyword arguments).

    Returns
    -------
    transformers.TrainerCallback
        It also closes the monitor at the end of training.
    """
    try:
        from transformers import TrainerCallback  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("hf_callback needs transformers: pip install transformers") from err

    class StabilityCallback(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
            """Record the step that just ended."""
            monitor.on_step(state.global_step, optimizer)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            """Close the monitor (hooks and log files)."""
            monitor.close()

    return StabilityCallback()
