import numpy as np
import pytest
import torch

from stablelearn.attacks import BudgetExhausted, HardLabelOracle


def test_budget_truncation_is_exact(linear10):
    lin, x, y = linear10
    o = HardLabelOracle(lin, budget=7, clip=None)
    o.start(x[:2], y[:2])
    pts = np.repeat(x[:1].reshape(1, -1), 5, axis=0)
    assert len(o.query({0: pts})[0]) == 5 and not o.exhausted[0]
    ans = o.query({0: pts, 1: pts})
    assert len(ans[0]) == 2 and o.exhausted[0] and o.queries[0] == 7  # truncated at the budget
    assert len(ans[1]) == 5 and o.queries[1] == 5
    assert len(o.query({0: pts})[0]) == 0 and o.queries[0] == 7


def test_records_best_so_far_and_trace(linear10):
    lin, x, y = linear10
    o = HardLabelOracle(lin, budget=100, clip=None)
    o.start(x[:1], y[:1])
    far = x[0] + 50.0 * np.sign(np.random.default_rng(0).standard_normal(x.shape[1]))
    lab = o._labels(far[None])[0]
    assert lab != y[0]
    o.query({0: np.stack([x[0], far, x[0] + 0.5 * (far - x[0])])})
    d = np.linalg.norm(o.best_x[0] - x[0])
    assert d == pytest.approx(o.best_l2[0])
    qs = [t[0] for t in o.trace[0]]
    assert qs == sorted(qs) and all(1 <= q <= 3 for q in qs)
    assert np.all(np.diff([t[1] for t in o.trace[0]]) < 0)


def test_labels_callable_and_logits_agree(linear10):
    lin, x, y = linear10
    predict = lambda a: lin(torch.tensor(a)).argmax(1).numpy()  # noqa: E731
    a = HardLabelOracle(lin, budget=10).predict(x)
    b = HardLabelOracle(predict, budget=10).predict(x)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kw, msg", [(dict(budget=0), "budget"), (dict(budget=-3), "budget"),
                                     (dict(budget=5, clip=(1.0, 0.0)), "clip"),
                                     (dict(budget=5, batch_size=0), "batch_size")])
def test_bad_arguments(linear10, kw, msg):
    with pytest.raises(ValueError, match=msg):
        HardLabelOracle(linear10[0], **kw)


def test_model_returning_garbage_is_rejected(linear10):
    _, x, y = linear10
    o = HardLabelOracle(lambda a: np.zeros((len(a), 3, 3)), budget=5)
    with pytest.raises(ValueError, match="labels or an \\(N, C>=2\\)"):
        o.start(x, y)


def test_as_module_counts_and_stops(linear10):
    lin, x, y = linear10
    o = HardLabelOracle(lin, budget=4, clip=None)
    o.start(x[:1], y[:1])
    m = o.as_module(0, 10)
    out = m(torch.tensor(x[:1].repeat(3, 0)))
    assert out.shape == (3, 10) and o.queries[0] == 3
    with pytest.raises(BudgetExhausted):
        m(torch.tensor(x[:1].repeat(3, 0)))
    assert o.queries[0] == 4 and o.exhausted[0]
