"""Thin adapters of ``StabilityMonitor`` for PyTorch Lightning and Hugging Face ``transformers``.

Both import their framework only when called; neither is a dependency of stablelearn.
"""

from __future__ import annotations

from .monitor import StabilityMonitor

__all__ = ["hf_callback", "lightning_callback"]


def lightning_callback(monitor: StabilityMonitor):
    """A Lightning ``Callback`` calling ``monitor.on_step(global_step, optimizer)`` after each training batch."""
    try:
        from lightning.pytorch import Callback  # noqa: PLC0415
    except ImportError:
        try:
            from pytorch_lightning import Callback  # noqa: PLC0415
        except ImportError as err:
            raise ImportError("lightning_callback needs PyTorch Lightning: pip install lightning") from err

    class StabilityCallback(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):  # noqa: ANN001
            opts = trainer.optimizers
            monitor.on_step(trainer.global_step, opts[0] if opts else None)

        def on_train_end(self, trainer, pl_module):  # noqa: ANN001
            monitor.close()

    return StabilityCallback()


def hf_callback(monitor: StabilityMonitor):
    """A Hugging Face ``TrainerCallback`` calling ``monitor.on_step(state.global_step, optimizer)`` on step end."""
    try:
        from transformers import TrainerCallback  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("hf_callback needs transformers: pip install transformers") from err

    class StabilityCallback(TrainerCallback):
        def on_step_end(self, args, state, control, optimizer=None, **kwargs):  # noqa: ANN001
            monitor.on_step(state.global_step, optimizer)

        def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
            monitor.close()

    return StabilityCallback()
