"""Real frameworks: a Lightning Trainer run with the callback, TensorBoard's own reader on the event file,
Hugging Face's Trainer with a tiny config-built model, autocast (bfloat16 on CPU) and DDP (gloo, 2 processes)."""

import json
import os
import socket

import numpy as np
import pytest
import torch
from torch import nn

from stablelearn._conventions import torch_seeded
from stablelearn.stability import StabilityMonitor, sharpness
from stablelearn.stability.adapters import hf_callback, lightning_callback


def _data(n=64):
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, 6, generator=gen), torch.randint(0, 3, (n,), generator=gen)


def _net():
    with torch_seeded(0):
        return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


@pytest.mark.timeout(180)
def test_lightning_trainer_writes_history_and_tensorboard_reads_it(tmp_path):
    L = pytest.importorskip("lightning.pytorch")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y = _data()

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = _net()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return nn.functional.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    module = Module()
    mon = StabilityMonitor(module.net, nn.functional.cross_entropy, (x, y), every=2, alerts="off",
                           metrics=("sharpness", "probe_loss", "grad_norm"), log_dir=tmp_path / "tb")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[lightning_callback(mon)],
                        default_root_dir=tmp_path)
    trainer.fit(module, loader)
    steps = mon.history.column("step")
    assert len(steps) == 8 and steps[-1] == 8  # one row per optimizer step; Lightning's global_step after it
    checks = mon.history.checks()
    assert len(checks) == 4 and np.all(np.isfinite(checks.column("sharpness")))
    lines = [json.loads(s) for s in (tmp_path / "tb" / "stability.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(steps)
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    events = acc.Scalars("stability/sharpness")
    assert [e.step for e in events] == list(checks.column("step"))
    np.testing.assert_allclose([e.value for e in events], checks.column("sharpness"), rtol=1e-6)


@pytest.mark.timeout(300)
def test_hugging_face_trainer_with_the_callback(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2,
                                     attn_implementation="eager")  # fused SDPA has no second derivative
    with torch_seeded(0):
        model = transformers.BertForSequenceClassification(config)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 50, (32, 8), generator=gen)
    labels = torch.randint(0, 2, (32,), generator=gen)

    class Wrapped(nn.Module):  # the monitor's probe interface: model(inputs) -> logits
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids):
            return self.inner(input_ids=input_ids).logits

    mon = StabilityMonitor(Wrapped(model), nn.functional.cross_entropy, (ids, labels), every=2, alerts="off",
                           metrics=("sharpness", "probe_loss"))
    data = [{"input_ids": i, "labels": l} for i, l in zip(ids, labels)]
    args = transformers.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, max_steps=6,
                                          learning_rate=1e-3, report_to=[], save_strategy="no", use_cpu=True,
                                          logging_strategy="no", disable_tqdm=True)
    transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[hf_callback(mon)]).train()
    checks = mon.history.checks()  # HF's global_step counts from 1; a check at steps 1, 3, 5
    assert list(checks.column("step")) == [1, 3, 5] and np.all(np.isfinite(checks.column("sharpness")))
    assert np.all(np.isfinite(checks.column("precond_sharpness")[1:]))  # AdamW: the preconditioned edge 38/eta


def test_autocast_bfloat16_measures_in_float32():
    """Inside torch.autocast (bfloat16 on CPU) the monitor's HVPs run in float32: the tracked sharpness equals
    the float32 one to 1e-5 (measurement switches autocast off), and so does sharpness() called inside it."""
    x, y = _data()
    loss_fn = nn.functional.cross_entropy
    ref = sharpness(_net(), loss_fn, (x, y), tol=1e-6, iters=200).value
    model = _net()
    mon = StabilityMonitor(model, loss_fn, (x, y), every=1, alerts="off", tol=1e-6, iters=200,
                           metrics=("sharpness",))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(x).dtype == torch.bfloat16
        row = mon.on_step(0)
        inside = sharpness(model, loss_fn, (x, y), tol=1e-6, iters=200).value
    assert row["sharpness"] == pytest.approx(ref, rel=1e-5) and inside == pytest.approx(ref, rel=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, folder: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        model = nn.parallel.DistributedDataParallel(_net())
        gen = torch.Generator().manual_seed(100 + rank)  # each rank holds its own data and its own probe
        x, y = torch.randn(64, 6, generator=gen), torch.randint(0, 3, (64,), generator=gen)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        mon = StabilityMonitor(model, nn.functional.cross_entropy, (x[:32], y[:32]), every=2, alerts="off",
                               metrics=("sharpness", "probe_loss"), log_dir=os.path.join(folder, f"rank{rank}"))
        for step in range(6):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[32:]), y[32:]).backward()
            opt.step()
            mon.on_step(step, opt)
        mon.close()
        checks = mon.history.checks()
        np.save(os.path.join(folder, f"sharpness{rank}.npy"), checks.column("sharpness"))
        torch.save(mon.probe[0], os.path.join(folder, f"probe{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(180)
def test_ddp_gloo_every_rank_measures_rank0_probe_and_rank0_logs(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    s0, s1 = np.load(tmp_path / "sharpness0.npy"), np.load(tmp_path / "sharpness1.npy")
    assert len(s0) == 3 and np.array_equal(s0, s1)
    p0, p1 = torch.load(tmp_path / "probe0.pt"), torch.load(tmp_path / "probe1.pt")
    assert torch.equal(p0[0], p1[0]) and torch.equal(p0[1], p1[1])
    assert (tmp_path / "rank0" / "stability.jsonl").exists() and not (tmp_path / "rank1").exists()
