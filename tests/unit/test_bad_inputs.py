"""A catalogue of a learner's mistakes across the public API of ``helpers``.

Every case either asserts the exception type and a fragment of its message (which must name the argument
or the fix), or that helpers accepts what a learner reasonably passes (NumPy integers, a torch.device, ...)
and gives the right result.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers
from helpers import (
    MLP,
    CheckpointError,
    SmallCNN,
    confusion_matrix,
    count_parameters,
    describe_device,
    evaluate,
    fit,
    get_device,
    load_checkpoint,
    load_digits_data,
    load_image_data,
    make_loaders,
    per_class_accuracy,
    predict,
    save_checkpoint,
    train_one_epoch,
)
from helpers.summary import summary

NO_CUDA = not torch.cuda.is_available()


# ---- small builders ---------------------------------------------------------------------------------


def xy(n=16, features=2, classes=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g), torch.randint(0, classes, (n,), generator=g)


def loader_of(x, y, batch_size=8):
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def model_opt(out=2, features=2):
    torch.manual_seed(0)
    model = MLP(features, hidden=(4,), out_features=out)
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def train(x, y, loss_fn=None, out=2, **kwargs):
    """train_one_epoch on (x, y) with a fresh MLP (2 outputs by default)."""
    model, optimizer = model_opt(out=out, features=x.shape[1])
    return train_one_epoch(model, loader_of(x, y), loss_fn or nn.CrossEntropyLoss(), optimizer, **kwargs)


def train_model(model, loader, loss_fn):
    """train_one_epoch with an SGD optimizer over ``model``'s own parameters."""
    return train_one_epoch(model, loader, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))


def run_fit(**overrides):
    model, optimizer = model_opt()
    x, y = xy()
    args = dict(
        model=model,
        train_loader=loader_of(x, y),
        val_loader=loader_of(x, y),
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=optimizer,
        epochs=1,
        progress=False,
        verbose=False,
    )
    args.update(overrides)
    return fit(**args)


def digits():
    return load_digits_data()


def saved(tmp_path, **kwargs):
    model, optimizer = model_opt()
    return save_checkpoint(tmp_path / "c.pt", model, optimizer, epoch=1, **kwargs)


def nan_loader():
    x, y = xy()
    x[9] = float("nan")  # a bad row in the second batch
    return loader_of(x, y)


# ---- the catalogue: (id, call, expected exception, message fragment) ------------------------------------

X, Y = xy()
CASES = [
    # device
    ("get_device int", lambda t: get_device(0), TypeError, "preferred must be a device string"),
    ("get_device unknown", lambda t: get_device("gpu"), ValueError, "unknown device 'gpu'"),
    ("get_device module", lambda t: get_device(nn.Linear), TypeError, "got the class"),
    ("describe_device int", lambda t: describe_device(5), TypeError, "device must be a device string"),
    # models
    ("MLP str in_features", lambda t: MLP("64"), TypeError, "in_features must be an integer"),
    ("MLP int hidden", lambda t: MLP(64, hidden=128), TypeError, "hidden must be a sequence of layer sizes"),
    ("MLP zero hidden", lambda t: MLP(64, hidden=(0,)), ValueError, "hidden[0] must be an integer >= 1"),
    ("MLP bool out", lambda t: MLP(64, out_features=True), ValueError, "True/False are not counts"),
    ("MLP dropout 1", lambda t: MLP(64, dropout=1.0), ValueError, "dropout must be a fraction in [0, 1)"),
    ("MLP dropout str", lambda t: MLP(64, dropout="0.5"), TypeError, "dropout must be a number"),
    ("MLP activation instance", lambda t: MLP(4, activation=nn.ReLU()), TypeError, "without parentheses"),
    ("MLP wrong input", lambda t: MLP(64)(torch.randn(3, 10)), ValueError, "64 features per sample"),
    ("CNN size 30", lambda t: SmallCNN(image_size=30), ValueError, "multiple of 4"),
    ("CNN classes 0", lambda t: SmallCNN(num_classes=0), ValueError, "num_classes must be an integer >= 1"),
    ("CNN channels int", lambda t: SmallCNN(channels=32), TypeError, "channels must be a pair"),
    ("CNN input 3-D", lambda t: SmallCNN(8)(torch.randn(2, 8, 8)), ValueError, "SmallCNN expected input"),
    ("count_parameters class", lambda t: count_parameters(nn.Linear), TypeError, "create one first"),
    ("count_parameters flag", lambda t: count_parameters(MLP(2), "yes"), TypeError, "trainable_only must be"),
    # fit / train_one_epoch / evaluate: arguments
    ("loss class", lambda t: run_fit(loss_fn=nn.CrossEntropyLoss), TypeError, "loss_fn=CrossEntropyLoss()"),
    ("loss string", lambda t: run_fit(loss_fn="mse"), TypeError, "loss_fn must be a loss function"),
    (
        "optimizer class",
        lambda t: run_fit(optimizer=torch.optim.SGD),
        TypeError,
        "optimizer must be an instance",
    ),
    ("optimizer None", lambda t: run_fit(optimizer=None), TypeError, "torch.optim.Optimizer"),
    (
        "model string",
        lambda t: run_fit(model="net"),
        TypeError,
        "model must be an instance of torch.nn.Module",
    ),
    ("loader tensor", lambda t: run_fit(train_loader=X), TypeError, "DataLoader(TensorDataset(X, y)"),
    ("loader dataset", lambda t: run_fit(train_loader=TensorDataset(X, Y)), TypeError, "DataLoader(dataset"),
    ("loader array", lambda t: run_fit(val_loader=X.numpy()), TypeError, "val_loader must be a DataLoader"),
    ("epochs 0", lambda t: run_fit(epochs=0), ValueError, "epochs must be an integer >= 1, got 0"),
    ("epochs bool", lambda t: run_fit(epochs=True), ValueError, "True/False are not counts"),
    ("epochs str", lambda t: run_fit(epochs="3"), TypeError, "epochs must be an integer"),
    ("epochs float", lambda t: run_fit(epochs=2.5), ValueError, "epochs must be an integer"),
    ("patience 0", lambda t: run_fit(patience=0), ValueError, "patience must be an integer >= 1"),
    ("max_steps 0", lambda t: run_fit(max_steps=0), ValueError, "max_steps must be an integer >= 1"),
    ("progress str", lambda t: run_fit(progress="no"), TypeError, "progress must be True or False"),
    ("verbose int", lambda t: run_fit(verbose=2), TypeError, "verbose must be True or False"),
    ("patience no val", lambda t: run_fit(val_loader=None, patience=2), ValueError, "need a val_loader"),
    (
        "plateau no val",
        lambda t: run_fit(
            val_loader=None,
            scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD(MLP(2).parameters(), lr=1)),
        ),
        ValueError,
        "ReduceLROnPlateau need a val_loader",
    ),
    ("scheduler str", lambda t: run_fit(scheduler="cosine"), TypeError, "scheduler must be a learning-rate"),
    (
        "checkpoint path int",
        lambda t: run_fit(checkpoint_path=3),
        TypeError,
        "checkpoint_path must be a file path",
    ),
    (
        "one-shot iterator",
        lambda t: run_fit(train_loader=iter(loader_of(X, Y)), epochs=2),
        TypeError,
        "one-shot iterator",
    ),
    (
        "no optimizer",
        lambda t: train_one_epoch(MLP(2), loader_of(X, Y), nn.MSELoss(), None),
        ValueError,
        "needs an optimizer",
    ),
    ("evaluate loss class", lambda t: evaluate(MLP(2), loader_of(X, Y), nn.MSELoss), TypeError, "MSELoss()"),
    (
        "evaluate max_steps",
        lambda t: evaluate(MLP(2), loader_of(X, Y), nn.MSELoss(), max_steps=-1),
        ValueError,
        "max_steps",
    ),
    # the training loop: data that does not suit the loss or the model
    ("float64 features", lambda t: train(X.double(), Y), TypeError, "X = X.float()"),
    ("float labels", lambda t: train(X, Y.float()), TypeError, "y = y.long()"),
    ("int32 labels", lambda t: train(X, Y.int()), TypeError, "torch.int64"),
    ("labels (N, 1)", lambda t: train(X, Y.view(-1, 1)), ValueError, "y = y.view(-1)"),
    (
        "label out of range in batch 2",
        lambda t: train(X, torch.cat([Y[:8], torch.full((8,), 5)])),
        ValueError,
        r"labels must lie in [0, 1] for a model with 2 outputs, got labels from 5 to 5",
    ),
    ("negative label", lambda t: train(X, -Y - 1), ValueError, "labels must lie in [0, 1]"),
    (
        "1-D logits with CE",
        lambda t: train_model(
            nn.Sequential(MLP(2, out_features=1), nn.Flatten(0)), loader_of(X, Y), nn.CrossEntropyLoss()
        ),
        ValueError,
        "for class labels",
    ),
    ("regression (N,)", lambda t: train(X, X[:, 0], nn.MSELoss(), out=1), ValueError, "predicts the mean"),
    (
        "regression int targets",
        lambda t: train(X, Y.view(-1, 1), nn.MSELoss(), out=1),
        TypeError,
        "y.float()",
    ),
    (
        "regression float64",
        lambda t: train(X, X[:, :1].double(), nn.L1Loss(), out=1),
        TypeError,
        "torch.float32",
    ),
    (
        "binary int targets",
        lambda t: train(X, Y.view(-1, 1), nn.BCEWithLogitsLoss(), out=1),
        TypeError,
        "y = y.float()",
    ),
    ("binary (N,)", lambda t: train(X, Y.float(), nn.BCEWithLogitsLoss(), out=1), ValueError, "unsqueeze(1)"),
    ("labels (N, 1, 1)", lambda t: train(X, Y.view(-1, 1, 1)), ValueError, "y = y.view(-1)"),
    (
        "one-hot integer labels",
        lambda t: train(X, nn.functional.one_hot(Y, 2)),
        ValueError,
        "one-hot encoded",
    ),
    (
        "integer features",
        lambda t: train_model(MLP(2, out_features=2), loader_of((X * 10).long(), Y), nn.CrossEntropyLoss()),
        TypeError,
        "X = X.float()",
    ),
    (
        "features vs a Linear of another size",
        lambda t: train_model(nn.Linear(3, 2), loader_of(X, Y), nn.CrossEntropyLoss()),
        ValueError,
        "2 features per sample",
    ),
    (
        "fit scheduler class",
        lambda t: run_fit(scheduler=torch.optim.lr_scheduler.StepLR),
        TypeError,
        "got the class StepLR",
    ),
    ("fit amp string", lambda t: run_fit(amp="bf16"), TypeError, "amp must be None"),
    ("fit compile string", lambda t: run_fit(compile="yes"), TypeError, "compile must be"),
    (
        "plot_history uneven",
        lambda t: __import__("helpers.plotting").plotting.plot_history(
            {"train_loss": [1, 2], "val_loss": [1]}
        ),
        ValueError,
        "one value per epoch",
    ),
    (
        "nan loss",
        lambda t: train_model(MLP(2), nan_loader(), nn.CrossEntropyLoss()),
        FloatingPointError,
        None,
    ),
    (
        "reduction none",
        lambda t: train(X, Y, nn.CrossEntropyLoss(reduction="none")),
        ValueError,
        "reduction='none'",
    ),
    (
        "batches of three",
        lambda t: train_model(
            MLP(2), DataLoader(TensorDataset(X, Y, Y), batch_size=8), nn.CrossEntropyLoss()
        ),
        TypeError,
        "(inputs, targets) pairs",
    ),
    (
        "optimizer of another model",
        lambda t: train_one_epoch(MLP(2), loader_of(X, Y), nn.CrossEntropyLoss(), model_opt()[1]),
        ValueError,
        "holds none of this model's parameters",
    ),
    (
        "frozen model",
        lambda t: train_one_epoch(
            MLP(2).requires_grad_(False),
            loader_of(X, Y),
            nn.CrossEntropyLoss(),
            torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=1),
        ),
        ValueError,
        "is frozen (requires_grad=False)",
    ),
    # predict
    (
        "predict task",
        lambda t: predict(MLP(2), loader_of(X, Y), task="probabilities"),
        ValueError,
        "task must be one of",
    ),
    ("predict loader tensor", lambda t: predict(MLP(2), X), TypeError, "loader must be a DataLoader"),
    (
        "predict multiclass 1 output",
        lambda t: predict(MLP(2, out_features=1), loader_of(X, Y), task="multiclass"),
        ValueError,
        "(batch, classes)",
    ),
    # data
    (
        "val_fraction 1.5",
        lambda t: load_digits_data(val_fraction=1.5),
        ValueError,
        "val_fraction must be a fraction in (0, 1), got 1.5",
    ),
    (
        "test_fraction 0",
        lambda t: load_digits_data(test_fraction=0),
        ValueError,
        "test_fraction must be a fraction",
    ),
    ("seed negative", lambda t: load_digits_data(seed=-1), ValueError, "seed must be an integer >= 0"),
    ("seed float", lambda t: load_digits_data(seed=1.0), ValueError, "seed must be an integer"),
    ("offline str", lambda t: load_image_data(offline="yes"), TypeError, "offline must be True or False"),
    ("make_loaders None", lambda t: make_loaders(None), TypeError, "data must be an ImageData"),
    ("make_loaders one Dataset", lambda t: make_loaders(TensorDataset(X, Y)), TypeError, "pass a tuple"),
    (
        "make_loaders list item",
        lambda t: make_loaders((TensorDataset(X, Y), [1, 2])),
        TypeError,
        "data[1] must be a torch Dataset",
    ),
    (
        "make_loaders batch 0",
        lambda t: make_loaders((TensorDataset(X, Y),), batch_size=0),
        ValueError,
        "batch_size must be an integer >= 1",
    ),
    (
        "make_loaders eval bool",
        lambda t: make_loaders((TensorDataset(X, Y),), eval_batch_size=True),
        ValueError,
        "eval_batch_size",
    ),
    (
        "make_loaders workers",
        lambda t: make_loaders((TensorDataset(X, Y),), num_workers=-1),
        ValueError,
        "num_workers must be an integer >= 0",
    ),
    # checkpoint: saving
    (
        "save non-module",
        lambda t: save_checkpoint(t / "x.pt", {"a": 1}),
        TypeError,
        "model must be an instance of torch.nn.Module",
    ),
    (
        "save optimizer class",
        lambda t: save_checkpoint(t / "x.pt", MLP(2), torch.optim.Adam),
        TypeError,
        "create one first",
    ),
    (
        "save epoch -1",
        lambda t: save_checkpoint(t / "x.pt", MLP(2), epoch=-1),
        ValueError,
        "epoch must be an integer >= 0",
    ),
    (
        "save metric str",
        lambda t: save_checkpoint(t / "x.pt", MLP(2), metrics={"acc": "high"}),
        TypeError,
        "metrics['acc'] must be a number",
    ),
    (
        "save metrics list",
        lambda t: save_checkpoint(t / "x.pt", MLP(2), metrics=[0.9]),
        TypeError,
        "metrics must be a dict",
    ),
    (
        "save extra numpy",
        lambda t: save_checkpoint(t / "x.pt", MLP(2), extra={"f": np.float64(1)}),
        TypeError,
        "a NumPy number",
    ),
    ("save to folder", lambda t: save_checkpoint(t, MLP(2)), IsADirectoryError, "add a file name"),
    ("save path None", lambda t: save_checkpoint(None, MLP(2)), TypeError, "path must be a file path"),
    (
        "save scheduler class",
        lambda t: save_checkpoint(t / "x.pt", MLP(2), scheduler=torch.optim.lr_scheduler.StepLR),
        TypeError,
        "scheduler must be None or an object",
    ),
    # checkpoint: loading
    ("load missing", lambda t: load_checkpoint(t / "nope.pt", MLP(2)), CheckpointError, "no checkpoint at"),
    ("load folder", lambda t: load_checkpoint(t, MLP(2)), CheckpointError, "is a folder"),
    ("load class", lambda t: load_checkpoint(saved(t), MLP), TypeError, "create one first"),
    (
        "load restore_rng int",
        lambda t: load_checkpoint(saved(t), MLP(2), restore_rng=1),
        TypeError,
        "restore_rng must be True or False",
    ),
    (
        "load bad map_location",
        lambda t: load_checkpoint(saved(t), MLP(2), map_location=5),
        TypeError,
        "map_location must be a device string",
    ),
    (
        "load no scheduler",
        lambda t: load_checkpoint(
            saved(t), *model_opt(), scheduler=torch.optim.lr_scheduler.StepLR(model_opt()[1], 1)
        ),
        CheckpointError,
        "holds no scheduler state",
    ),
    # metrics, summary, plotting
    (
        "confusion bool classes",
        lambda t: confusion_matrix(Y, Y, True),
        ValueError,
        "num_classes must be an integer",
    ),
    (
        "confusion logits",
        lambda t: confusion_matrix(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), 3),
        ValueError,
        "argmax",
    ),
    (
        "confusion float preds",
        lambda t: confusion_matrix(np.array([0.0, 1.0]), np.array([0, 1]), 2),
        TypeError,
        "integer class indices",
    ),
    ("per_class str", lambda t: per_class_accuracy("matrix"), TypeError, "cm must be a torch.Tensor"),
    ("summary class", lambda t: summary(nn.Linear, (1, 2)), TypeError, "create one first"),
    (
        "summary zero dim",
        lambda t: summary(nn.Linear(2, 2), (1, 0)),
        ValueError,
        "input_shape must be a tuple of positive ints",
    ),
    (
        "summary verbose",
        lambda t: summary(nn.Linear(2, 2), (1, 2), verbose="x"),
        TypeError,
        "verbose must be True or False",
    ),
]


@pytest.mark.parametrize("call, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(call, error, fragment, tmp_path):
    with pytest.raises(error) as info:
        call(tmp_path)
    if fragment is not None:
        assert fragment in str(info.value)
    # raised from helpers itself, not from deep inside torch or a raw error from a helpers line
    assert "helpers" in info.traceback[-1].path.parts or info.traceback[-1].path.name.startswith("_validate")


# ---- what a learner reasonably passes is accepted, with the right result ---------------------------------


def test_numpy_integers_and_devices_are_accepted():
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")
    model = MLP(np.int64(4), hidden=[np.int32(3)], out_features=np.int64(3))
    assert model(torch.randn(2, 4)).shape == (2, 3)
    assert count_parameters(model) == 4 * 3 + 3 + 3 * 3 + 3
    history = run_fit(epochs=np.int64(2), patience=np.int64(3))
    assert len(history["train_loss"]) == 2
    loaders = make_loaders(digits(), batch_size=np.int64(16), seed=np.int64(1))
    assert next(iter(loaders[0]))[0].shape[0] == 16
    assert summary(nn.Linear(2, 3), (np.int64(4), 2), verbose=False)[0].output_shape == (4, 3)


def test_metrics_accept_numpy_arrays():
    cm = confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), np.int64(2))
    assert cm.tolist() == [[1, 1], [0, 1]]
    assert per_class_accuracy(cm.numpy()).tolist() == [0.5, 1.0]


def test_make_loaders_takes_tabular_datasets_with_explicit_batch_sizes():
    x, y = xy(n=50, features=5)
    train_loader, val_loader = make_loaders(
        (TensorDataset(x[:40], y[:40]), TensorDataset(x[40:], y[40:])), batch_size=8, eval_batch_size=4
    )
    assert [b[0].shape[0] for b in val_loader] == [4, 4, 2]
    assert len(train_loader) == 5 and train_loader.generator is not None
    first = next(iter(make_loaders((TensorDataset(x, y),), batch_size=8)[0]))[1]
    assert torch.equal(first, next(iter(make_loaders((TensorDataset(x, y),), batch_size=8)[0]))[1])


def test_a_used_up_iterator_is_named_in_the_error():
    model, optimizer = model_opt()
    batches = iter(loader_of(X, Y))
    train_one_epoch(model, batches, nn.CrossEntropyLoss(), optimizer)
    with pytest.raises(ValueError, match="iterator that may be used up already"):
        train_one_epoch(model, batches, nn.CrossEntropyLoss(), optimizer)


def test_nan_loss_names_epoch_and_batch_and_saves_nothing(tmp_path):
    model, optimizer = model_opt()
    path = tmp_path / "best.pt"
    with pytest.raises(
        FloatingPointError, match=r"loss became nan at batch 2 of epoch 1: lower the learning"
    ):
        fit(model, nan_loader(), loader_of(X, Y), nn.CrossEntropyLoss(), optimizer, 3, checkpoint_path=path,
            progress=False, verbose=False)  # fmt: skip
    assert not path.exists()


def test_diverging_training_stops_at_the_epoch_it_diverges():
    model, _ = model_opt(out=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e12)
    x, _ = xy(n=64)
    with pytest.raises(FloatingPointError, match=r"became (nan|inf) at batch \d+ of epoch \d+"):
        fit(model, loader_of(x * 100, x[:, :1] * 100), None, nn.MSELoss(), optimizer, 50, progress=False,
            verbose=False)  # fmt: skip


def test_binary_classification_gets_an_accuracy_and_predict_gives_labels():
    torch.manual_seed(0)
    x = torch.randn(200, 2)
    y = (x[:, :1] + x[:, 1:] > 0).float()  # (N, 1) float targets for one logit
    model = MLP(2, hidden=(8,), out_features=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, loader_of(x, y, 32), loader_of(x, y, 64), nn.BCEWithLogitsLoss(), optimizer, 10,
                  progress=False, verbose=False)  # fmt: skip
    assert history["val_acc"][-1] > 0.9 and not math.isnan(history["train_acc"][0])
    preds, trues = predict(model, loader_of(x, y), task="binary")
    assert preds.shape == (200, 1) and set(preds.unique().tolist()) <= {0, 1}
    assert (preds == trues.long()).float().mean().item() == pytest.approx(history["val_acc"][-1])


def test_predict_without_labels_and_for_regression():
    model = nn.Linear(2, 1)
    unlabeled = DataLoader(TensorDataset(X), batch_size=8)  # batches are 1-tuples
    preds, trues = predict(model, unlabeled)
    assert trues is None and preds.shape == (16, 1) and preds.dtype == torch.float32
    with torch.no_grad():
        assert torch.allclose(preds, model(X))
    preds, _ = predict(model, [X[:4], X[4:]])  # plain tensors as batches
    assert preds.shape == (16, 1)


def test_max_steps_stops_an_endless_stream():
    class Endless(torch.utils.data.IterableDataset):
        def __iter__(self):
            while True:
                yield torch.randn(2), torch.tensor(1)

    model, optimizer = model_opt()
    history = fit(model, DataLoader(Endless(), batch_size=4), None, nn.CrossEntropyLoss(), optimizer, 2,
                  max_steps=5, progress=True, verbose=False)  # fmt: skip
    assert len(history["train_loss"]) == 2


def test_ignore_index_labels_are_not_out_of_range():
    from helpers.training import _check_label_range

    _check_label_range(torch.tensor([0, -100, 1]), 2, ignore_index=-100)  # the GPU path's pre-check
    with pytest.raises(ValueError, match="got labels from -1 to 1"):
        _check_label_range(torch.tensor([0, -1, 1, -100]), 2, ignore_index=-100)
    loss, _ = train(X, torch.where(torch.arange(16) % 4 == 0, -100, Y))
    assert math.isfinite(loss)


def test_soft_labels_are_accepted_by_cross_entropy():
    probabilities = torch.softmax(torch.randn(16, 2), dim=1)
    loss, accuracy = train(X, probabilities)
    assert loss > 0 and 0 <= accuracy <= 1


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
def test_cuda_requests_on_a_cpu_machine(tmp_path):
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")
    with pytest.raises(CheckpointError, match="map_location='cpu'"):
        load_checkpoint(saved(tmp_path), MLP(2), map_location="cuda")


def test_helpers_exports_the_learners_api():
    for name in ("save_checkpoint", "load_checkpoint", "make_loaders", "confusion_matrix", "predict"):
        assert callable(getattr(helpers, name))


def _warning_messages(call):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize(
    "head, loss_fn, targets, fragment",
    [
        (nn.Softmax(dim=1), nn.CrossEntropyLoss(), "labels", "remove the final nn.Softmax"),
        (nn.Identity(), nn.NLLLoss(), "labels", "NLLLoss expects log-probabilities"),
        (nn.Sigmoid(), nn.BCEWithLogitsLoss(), "binary", "remove the final nn.Sigmoid"),
    ],
)
def test_outputs_squashed_twice_are_reported(head, loss_fn, targets, fragment):
    """A softmax before CrossEntropyLoss (or a sigmoid before BCEWithLogitsLoss) trains badly without an error."""
    x, y = xy(n=32)
    out = 1 if targets == "binary" else 2
    y = y.float().unsqueeze(1) if targets == "binary" else y
    model = nn.Sequential(MLP(2, hidden=(4,), out_features=out), head)
    messages = _warning_messages(lambda: train_model(model, loader_of(x, y, batch_size=16), loss_fn))
    assert any(fragment in m for m in messages), messages


def test_right_outputs_give_no_loss_warning():
    x, y = xy(n=32)
    for head, loss_fn in ((nn.Identity(), nn.CrossEntropyLoss()), (nn.LogSoftmax(dim=1), nn.NLLLoss())):
        model = nn.Sequential(MLP(2, hidden=(4,), out_features=2), head)
        assert _warning_messages(lambda: train_model(model, loader_of(x, y, batch_size=16), loss_fn)) == []
    model = MLP(2, hidden=(4,), out_features=1)
    yb = y.float().unsqueeze(1)
    loss_fn = nn.BCEWithLogitsLoss()
    assert _warning_messages(lambda: train_model(model, loader_of(x, yb, batch_size=16), loss_fn)) == []


def test_regression_under_bf16_autocast_is_not_a_dtype_mistake():
    x = torch.randn(32, 2)
    y = x.sum(dim=1, keepdim=True)
    model, optimizer = model_opt(out=1)
    loss, _ = train_one_epoch(model, loader_of(x, y), nn.MSELoss(), optimizer, amp=torch.bfloat16)
    assert math.isfinite(loss)


def test_catalogue_is_large_enough():
    assert len(CASES) >= 70


def test_wrapped_models_are_saved_plain_and_prefixed_files_load(tmp_path):
    """torch.compile and DDP wrappers prefix every key (_orig_mod., module.): checkpoints do not."""
    model, optimizer = model_opt()
    compiled = torch.compile(model)  # wrapping does not compile yet: no compile time here
    path = save_checkpoint(tmp_path / "c.pt", compiled, optimizer, epoch=1)
    keys = list(torch.load(path, weights_only=True)["model"])
    assert keys == list(model.state_dict())
    fresh, _ = model_opt()
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    load_checkpoint(path, fresh)  # a plain model
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), model.parameters()))
    load_checkpoint(path, torch.compile(MLP(2, hidden=(4,), out_features=2)))  # and a wrapped one
    # a file saved by hand from a wrapped model's state_dict
    prefixed = {"format": "x", "model": {f"module.{k}": v for k, v in model.state_dict().items()}}
    torch.save(prefixed, tmp_path / "p.pt")
    load_checkpoint(tmp_path / "p.pt", fresh)
    with pytest.raises(CheckpointError, match="shape mismatch"):  # renamed keys are still checked
        torch.save({"model": {f"module.{k}": v for k, v in MLP(2).state_dict().items()}}, tmp_path / "q.pt")
        load_checkpoint(tmp_path / "q.pt", fresh)


def test_seed_limits_and_numpy_seeds():
    helpers.seed_everything(np.int64(3))
    with pytest.raises(ValueError, match="below 2\\*\\*32"):
        helpers.seed_everything(2**32)


def test_an_empty_training_set_is_named():
    with pytest.raises(ValueError, match=r"training set \(data\[0\]\) is empty"):
        make_loaders((TensorDataset(torch.randn(0, 2)),))


def test_small_positive_logits_are_not_mistaken_for_a_sigmoid():
    """Raw logits can all lie in (0, 1) by chance (a positive bias, small weights): no warning then."""
    x, y = xy(n=32)
    model = MLP(2, hidden=(4,), out_features=1)
    with torch.no_grad():
        model.net[-1].weight.mul_(0.01)
        model.net[-1].bias.fill_(0.3)
    assert bool(((model(x) > 0) & (model(x) < 1)).all())
    messages = _warning_messages(
        lambda: train_model(
            model, loader_of(x, y.float().unsqueeze(1), batch_size=16), nn.BCEWithLogitsLoss()
        )
    )
    assert not [m for m in messages if "Sigmoid" in m], messages
