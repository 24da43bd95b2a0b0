"""A learner's own script on data the book never uses (scikit-learn's tabular sets), end to end.

The learner makes the two most common mistakes first (float64 features straight from NumPy, regression
targets of shape (N,)), reads the error, fixes it, trains, checkpoints, reloads and predicts.
"""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import TensorDataset

import helpers


def split(X, y, seed=0):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def train_and_reload(tmp_path, model, train_set, test_set, loss_fn, epochs, lr=1e-2):
    """fit with a best-checkpoint, reload it into a fresh copy, check it is the saved model; return it."""
    train_loader, test_loader = helpers.make_loaders(
        (train_set, test_set), batch_size=32, eval_batch_size=128
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    path = tmp_path / "best.pt"
    history = helpers.fit(model, train_loader, test_loader, loss_fn, optimizer, epochs, checkpoint_path=path,
                          progress=False, verbose=False)  # fmt: skip
    fresh = type(model)(**model.init_args)
    checkpoint = helpers.load_checkpoint(path, fresh, torch.optim.Adam(fresh.parameters(), lr=lr))
    reloaded_loss, reloaded_acc = helpers.evaluate(fresh, test_loader, loss_fn)
    assert reloaded_loss == pytest.approx(min(history["val_loss"]), rel=1e-6)
    assert checkpoint["metrics"]["val_loss"] == min(history["val_loss"])
    return fresh, test_loader, history


class Net(helpers.MLP):
    """An MLP that remembers its constructor arguments (what a learner keeps next to a checkpoint)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.init_args = kwargs


def test_breast_cancer_binary_classification(tmp_path):
    X_train, X_test, y_train, y_test = split(*load_breast_cancer(return_X_y=True))
    model = Net(in_features=30, hidden=(16,), out_features=1)
    as_is = TensorDataset(torch.tensor(X_train), torch.tensor(y_train))  # float64 X, int64 y
    with pytest.raises(TypeError, match=r"X = X.float\(\)"):
        helpers.train_one_epoch(model, helpers.make_loaders((as_is,))[0], nn.BCEWithLogitsLoss(),
                                torch.optim.Adam(model.parameters()))  # fmt: skip
    train_set = TensorDataset(torch.tensor(X_train).float(), torch.tensor(y_train).float().unsqueeze(1))
    test_set = TensorDataset(torch.tensor(X_test).float(), torch.tensor(y_test).float().unsqueeze(1))
    model, test_loader, history = train_and_reload(
        tmp_path, model, train_set, test_set, nn.BCEWithLogitsLoss(), 15
    )
    assert max(history["val_acc"]) > 0.93
    preds, trues = helpers.predict(model, test_loader, task="binary")
    assert (preds == trues.long()).float().mean().item() > 0.93


def test_iris_multiclass_classification(tmp_path):
    X_train, X_test, y_train, y_test = split(*load_iris(return_X_y=True))
    train_set = TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train))
    test_set = TensorDataset(torch.tensor(X_test, dtype=torch.float32), torch.tensor(y_test))
    model = Net(in_features=4, hidden=(16,), out_features=3)
    model, test_loader, history = train_and_reload(
        tmp_path, model, train_set, test_set, nn.CrossEntropyLoss(), 30
    )
    assert history["val_acc"][-1] > 0.9
    preds, trues = helpers.predict(model, test_loader)
    cm = helpers.confusion_matrix(preds, trues, 3)
    assert cm.sum() == len(y_test) and cm.diagonal().sum() / cm.sum() > 0.9


def test_diabetes_regression(tmp_path):
    X_train, X_test, y_train, y_test = split(*load_diabetes(return_X_y=True))
    mean, std = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    X_train, X_test = torch.tensor(X_train).float(), torch.tensor(X_test).float()
    model = Net(in_features=10, hidden=(16,), out_features=1)
    flat = TensorDataset(X_train, torch.tensor(y_train).float())  # targets (N,) for outputs (N, 1)
    with pytest.raises(ValueError, match="predicts the mean"):
        helpers.train_one_epoch(model, helpers.make_loaders((flat,))[0], nn.MSELoss(),
                                torch.optim.Adam(model.parameters()))  # fmt: skip
    train_set = TensorDataset(X_train, torch.tensor(y_train).float().view(-1, 1))
    test_set = TensorDataset(X_test, torch.tensor(y_test).float().view(-1, 1))
    model, test_loader, history = train_and_reload(
        tmp_path, model, train_set, test_set, nn.MSELoss(), 40, lr=3e-3
    )
    preds, trues = helpers.predict(model, test_loader)
    r2 = 1 - ((preds - trues) ** 2).sum() / ((trues - trues.mean()) ** 2).sum()
    assert r2 > 0.3  # a model predicting the mean would score about 0
