import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers
from helpers import MLP, evaluate, fit, predict, seed_everything, train_one_epoch


def blobs(n=200, seed=0):
    """Two well-separated Gaussian blobs: a problem any working loop solves."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y.float().unsqueeze(1) * 4 - 2)
    return TensorDataset(x, y)


def setup(seed=0):
    seed_everything(seed)
    model = MLP(2, hidden=(8,), out_features=2)
    loader = DataLoader(blobs(), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(blobs(seed=1), batch_size=64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, loader, val_loader, nn.CrossEntropyLoss(), optimizer


def test_fit_learns_and_returns_history(capsys):
    model, loader, val_loader, loss_fn, optimizer = setup()
    history = fit(model, loader, val_loader, loss_fn, optimizer, epochs=5, progress=False)
    assert set(history) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(len(v) == 5 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.95
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 5 and "val loss" in lines[0]


def test_fit_matches_the_plain_loop_exactly():
    """helpers.fit must be the loop the lessons teach: same seed, same parameters afterwards."""
    model, loader, _, loss_fn, optimizer = setup()
    fit(model, loader, None, loss_fn, optimizer, epochs=2, progress=True, verbose=False)
    plain, loader2, _, _, opt2 = setup()
    for _ in range(2):
        plain.train()
        for x, y in loader2:
            opt2.zero_grad()
            loss = loss_fn(plain(x), y)
            loss.backward()
            opt2.step()
    for a, b in zip(model.parameters(), plain.parameters()):
        assert torch.equal(a, b)


def test_evaluate_uses_eval_mode_and_no_grad():
    model, _, val_loader, loss_fn, _ = setup()
    model.train()
    loss, acc = evaluate(model, val_loader, loss_fn)
    assert not model.training and 0 <= acc <= 1 and loss > 0
    assert all(p.grad is None for p in model.parameters())


def test_regression_targets_give_nan_accuracy():
    model = nn.Linear(3, 1)
    loader = DataLoader(TensorDataset(torch.randn(20, 3), torch.randn(20, 1)), batch_size=5)
    loss, acc = train_one_epoch(model, loader, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01))
    assert loss > 0 and math.isnan(acc)


def test_early_stopping_and_checkpoint(tmp_path):
    model, loader, val_loader, loss_fn, _ = setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # never improves after epoch 1
    path = tmp_path / "best.pt"
    with pytest.warns(RuntimeWarning, match="no parameter of the model has changed"):  # lr=0, on purpose
        history = fit(
            model,
            loader,
            val_loader,
            loss_fn,
            optimizer,
            epochs=10,
            patience=2,
            checkpoint_path=path,
            progress=False,
            verbose=False,
        )
    assert len(history["train_loss"]) == 3 and path.is_file()


def test_scheduler_is_stepped_once_per_epoch():
    model, loader, val_loader, loss_fn, optimizer = setup()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    fit(
        model,
        loader,
        val_loader,
        loss_fn,
        optimizer,
        epochs=3,
        scheduler=scheduler,
        progress=False,
        verbose=False,
    )
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


def test_predict_returns_labels():
    model, _, val_loader, _, _ = setup()
    preds, trues = predict(model, val_loader)
    assert preds.shape == trues.shape == (200,) and preds.dtype == torch.int64


# ---- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True])
def test_fit_rejects_bad_epochs(epochs):
    model, loader, val_loader, loss_fn, optimizer = setup()
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        fit(model, loader, val_loader, loss_fn, optimizer, epochs=epochs)


def test_empty_loader_is_reported():
    model, _, _, loss_fn, optimizer = setup()
    empty = DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match="yielded no batches"):
        train_one_epoch(model, empty, loss_fn, optimizer)


def test_labels_out_of_range_are_reported():
    model, _, _, loss_fn, optimizer = setup()
    loader = DataLoader(
        TensorDataset(torch.randn(8, 2), torch.tensor([0, 1, 2, 0, 1, 0, 1, 0])), batch_size=8
    )
    with pytest.raises(
        ValueError, match=r"labels must lie in \[0, 1\] for a model with 2 outputs, got labels from 0 to 2"
    ):
        train_one_epoch(model, loader, loss_fn, optimizer)


def test_wrong_input_shape_is_reported():
    model, _, _, loss_fn, optimizer = setup()
    loader = DataLoader(TensorDataset(torch.randn(8, 3), torch.zeros(8, dtype=torch.long)), batch_size=8)
    with pytest.raises(ValueError, match="2 features per sample"):
        train_one_epoch(model, loader, loss_fn, optimizer)


def test_batch_size_mismatch_is_reported():
    model = nn.Sequential(nn.Flatten(0), nn.Linear(16, 2), nn.Unflatten(0, (1, 2)))
    loader = DataLoader(TensorDataset(torch.randn(8, 2), torch.zeros(8, dtype=torch.long)), batch_size=8)
    with pytest.raises(ValueError, match="returned 1 outputs for a batch of 8 targets"):
        evaluate(model, loader, nn.CrossEntropyLoss())


def test_missing_optimizer_and_val_loader_requirements():
    model, loader, _, loss_fn, optimizer = setup()
    with pytest.raises(ValueError, match="needs an optimizer"):
        train_one_epoch(model, loader, loss_fn, None)
    with pytest.raises(ValueError, match="need a val_loader"):
        fit(model, loader, None, loss_fn, optimizer, epochs=1, patience=2)
    with pytest.raises(ValueError, match="patience"):
        fit(model, loader, loader, loss_fn, optimizer, epochs=1, patience=0)


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda: nn.CrossEntropyLoss(),  # with lr=0 below
        lambda: (
            lambda outputs, targets: nn.functional.cross_entropy(outputs, targets).detach().requires_grad_()
        ),
    ],
    ids=["learning rate 0", "loss cut off from the model"],
)
def test_fit_warns_when_no_parameter_changes(make_loss):
    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    model = nn.Linear(4, 3)
    lr = 0.0 if "CrossEntropy" in repr(make_loss()) else 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with pytest.warns(RuntimeWarning, match="after epoch 1 no parameter of the model has changed"):
        helpers.fit(model, loader, None, make_loss(), optimizer, epochs=2, progress=False, verbose=False)


def test_fit_warns_once_when_the_model_has_more_outputs_than_the_labels_use():
    """MLP's default of 10 outputs on 3-class data trains without error: fit says so, once per call."""
    seed_everything(0)
    g = torch.Generator().manual_seed(0)
    y = torch.arange(90) % 3
    x = torch.randn(90, 4, generator=g) + y.float().unsqueeze(1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=g)
    model = MLP(4)  # out_features defaults to 10
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(UserWarning, match=r"10 outputs .* only use classes 0\.\.2.*out_features=3") as record:
        fit(model, loader, None, nn.CrossEntropyLoss(), optimizer, epochs=3, progress=False, verbose=False)
    assert sum("outputs (classes)" in str(w.message) for w in record) == 1
    assert record[0].filename == __file__  # points at the learner's own line
    with pytest.warns(UserWarning, match="labels of this epoch only use classes 0..2"):
        train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)


def test_no_class_warning_when_the_outputs_match_the_labels(recwarn):
    model, loader, val_loader, loss_fn, optimizer = setup()
    fit(model, loader, val_loader, loss_fn, optimizer, epochs=2, progress=False, verbose=False)
    assert not [w for w in recwarn if "outputs (classes)" in str(w.message)]
