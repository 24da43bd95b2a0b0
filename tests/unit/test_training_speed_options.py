"""helpers.fit's Chapter 9 options: amp=, non_blocking=, compile= (all off by default)."""

import inspect

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers
from helpers import MLP, evaluate, fit, load_checkpoint, seed_everything, train_one_epoch


def blobs(n=240, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[-3.0, 0.0, 1.0], [3.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    x = torch.randn(n, 3, generator=g) * 0.6 + centres[y]
    return TensorDataset(x, y)


def setup(seed=0):
    seed_everything(seed)
    model = MLP(3, hidden=(16,), out_features=3)
    loader = DataLoader(blobs(), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(blobs(seed=1), batch_size=64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, loader, val_loader, nn.CrossEntropyLoss(), optimizer


def linear_output_dtypes(model):
    seen = set()
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype))
    return seen


def test_the_options_are_off_by_default():
    params = inspect.signature(fit).parameters
    assert params["amp"].default is None
    assert params["non_blocking"].default is False
    assert params["compile"].default is False
    model, loader, _, loss_fn, optimizer = setup()
    seen = linear_output_dtypes(model)
    fit(model, loader, None, loss_fn, optimizer, epochs=1, progress=False, verbose=False)
    assert seen == {torch.float32}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_amp_runs_the_layers_in_low_precision_and_still_learns(dtype):
    model, loader, val_loader, loss_fn, optimizer = setup()
    seen = linear_output_dtypes(model)
    history = fit(model, loader, val_loader, loss_fn, optimizer, 4, amp=dtype, progress=False, verbose=False)
    assert seen == {dtype}  # autocast was on, for training and validation
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the weights stay float32
    reference, loader, val_loader, loss_fn, optimizer = setup()
    expected = fit(reference, loader, val_loader, loss_fn, optimizer, 4, progress=False, verbose=False)
    assert history["val_acc"][-1] > 0.9
    assert abs(history["val_acc"][-1] - expected["val_acc"][-1]) <= 0.05
    assert history["train_loss"] != expected["train_loss"]  # low precision changes the numbers a little


def test_float16_scales_the_loss_and_checkpoints_hold_the_scaler(tmp_path):
    model, loader, val_loader, loss_fn, optimizer = setup()
    last = tmp_path / "last.pt"
    fit(model, loader, val_loader, loss_fn, optimizer, 2, amp=torch.float16, last_checkpoint_path=last,
        progress=False, verbose=False)  # fmt: skip
    saved = torch.load(last, weights_only=True)
    assert saved["scaler"] is not None and saved["scaler"]["scale"] > 0
    bf16 = tmp_path / "bf16.pt"
    model, loader, val_loader, loss_fn, optimizer = setup()
    fit(model, loader, val_loader, loss_fn, optimizer, 1, amp=torch.bfloat16, last_checkpoint_path=bf16,
        progress=False, verbose=False)  # fmt: skip
    assert torch.load(bf16, weights_only=True)["scaler"] is None  # bfloat16 needs no scaling


def test_float16_resume_gives_the_uninterrupted_run(tmp_path):
    model, loader, val_loader, loss_fn, optimizer = setup()
    fit(model, loader, val_loader, loss_fn, optimizer, 4, amp=torch.float16, progress=False, verbose=False)
    last = tmp_path / "last.pt"
    first, loader, val_loader, loss_fn, optimizer = setup()
    fit(first, loader, val_loader, loss_fn, optimizer, 2, amp=torch.float16, last_checkpoint_path=last,
        progress=False, verbose=False)  # fmt: skip
    resumed, loader, val_loader, loss_fn, optimizer = setup(seed=5)  # different init: the file must win
    fit(resumed, loader, val_loader, loss_fn, optimizer, 4, amp=torch.float16, resume_from=last,
        progress=False, verbose=False)  # fmt: skip
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_non_blocking_gives_the_same_parameters():
    results = []
    for non_blocking in (False, True):
        model, loader, val_loader, loss_fn, optimizer = setup()
        fit(model, loader, val_loader, loss_fn, optimizer, 2, non_blocking=non_blocking, progress=False,
            verbose=False)  # fmt: skip
        results.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_train_one_epoch_and_evaluate_take_amp_and_a_scaler():
    model, loader, val_loader, loss_fn, optimizer = setup()
    seen = linear_output_dtypes(model)
    scaler = torch.amp.GradScaler("cpu")
    for _ in range(3):
        train_one_epoch(model, loader, loss_fn, optimizer, amp=torch.float16, scaler=scaler)
    assert scaler.get_scale() > 0 and seen == {torch.float16}
    seen.clear()
    loss, acc = evaluate(model, val_loader, loss_fn, amp=torch.bfloat16, non_blocking=True)
    assert seen == {torch.bfloat16} and acc > 0.9


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"amp": "bf16"}, "amp must be None (full precision), torch.bfloat16 or torch.float16"),
        ({"amp": True}, "amp must be None"),
        ({"amp": torch.float64}, "got torch.float64"),
        ({"non_blocking": 1}, "non_blocking"),
        ({"compile": "yes"}, "compile"),
    ],
)
def test_bad_option_values_are_named(kwargs, fragment):
    model, loader, _, loss_fn, optimizer = setup()
    with pytest.raises(TypeError, match="amp|non_blocking|compile") as err:
        fit(model, loader, None, loss_fn, optimizer, 1, progress=False, verbose=False, **kwargs)
    assert fragment in str(err.value)


def test_train_one_epoch_rejects_a_scaler_that_is_not_one():
    model, loader, _, loss_fn, optimizer = setup()
    with pytest.raises(TypeError, match="scaler must be a torch.amp.GradScaler"):
        train_one_epoch(model, loader, loss_fn, optimizer, scaler="yes")


@pytest.mark.slow  # compiling takes ~10 s on a 2-core CPU
def test_compile_trains_like_eager_and_saves_the_plain_model(tmp_path):
    eager, loader, val_loader, loss_fn, optimizer = setup()
    expected = fit(eager, loader, val_loader, loss_fn, optimizer, 2, progress=False, verbose=False)
    model, loader, val_loader, loss_fn, optimizer = setup()
    best = tmp_path / "best.pt"
    history = fit(model, loader, val_loader, loss_fn, optimizer, 2, compile=True, checkpoint_path=best,
                  progress=False, verbose=False)  # fmt: skip
    assert type(model) is MLP  # fit compiled a wrapper; the learner's model is unchanged
    for a, b in zip(history["val_loss"], expected["val_loss"]):
        assert a == pytest.approx(b, rel=1e-4)
    keys = torch.load(best, weights_only=True)["model"].keys()
    assert not any(k.startswith("_orig_mod.") for k in keys)
    fresh = MLP(3, hidden=(16,), out_features=3)
    load_checkpoint(best, fresh)  # loads into a plain model without renaming anything
    assert helpers.evaluate(fresh, val_loader, loss_fn)[1] == pytest.approx(history["val_acc"][-1])
