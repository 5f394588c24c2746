"""Small deterministic victims on sklearn digits (8x8, d=64) shared by the attack tests."""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression


def _linear(X, y):
    clf = LogisticRegression(max_iter=3000).fit(X, y)
    W = clf.coef_ if len(clf.classes_) > 2 else np.vstack([-clf.coef_, clf.coef_]) / 2
    b = clf.intercept_ if len(clf.classes_) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    lin = torch.nn.Linear(X.shape[1], len(W)).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
        lin.bias.copy_(torch.tensor(b))
    return lin


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def linear10(digits):
    """Multinomial logistic victim (docs/attacks.md, "Provenance": the linear oracle) and a few correctly classified test images."""
    X, y = digits
    lin = _linear(X[:1000], y[:1000])
    with torch.no_grad():
        pred = lin(torch.tensor(X[1000:])).argmax(1).numpy()
    ok = np.flatnonzero(pred == y[1000:])[:6] + 1000
    return lin, X[ok], y[ok]


@pytest.fixture(scope="session")
def linear2(digits):
    """Binary logistic victim (digits 3 vs 8): the minimal l2 perturbation is |z_0 - z_1| / ||w_0 - w_1||."""
    X, y = digits
    keep = np.isin(y, [3, 8])
    X2, y2 = X[keep], (y[keep] == 8).astype(int)
    lin = _linear(X2[:250], y2[:250])
    with torch.no_grad():
        z = lin(torch.tensor(X2[250:])).numpy()
    ok = np.flatnonzero(z.argmax(1) == y2[250:])[:4] + 250
    W = lin.weight.detach().numpy()
    zz = z[ok - 250]
    fstar = np.abs(zz[:, 0] - zz[:, 1]) / np.linalg.norm(W[0] - W[1])
    return lin, X2[ok], y2[ok], fstar
