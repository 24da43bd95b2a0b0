"""Checks for Chapter 8 (Putting it together: the full training loop)."""

import copy
import math
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..exercises import ExerciseFailed, call, exercise, expect
from ._common import as_float, python_int, seeded

# ---- tiny synthetic problems (a few dozen samples: every check runs in milliseconds) --------------------


def _toy_loader(n=40, features=5, classes=3, batch_size=16, seed=0):
    """n samples in batches of 16: the last batch is smaller, so a mean of batch means is wrong."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return DataLoader(
        TensorDataset(x, y), batch_size=batch_size, generator=torch.Generator().manual_seed(seed)
    )


def _toy_model(features=5, classes=3, seed=0):
    return seeded(
        seed,
        lambda: nn.Sequential(nn.Linear(features, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, classes)),
    )


def _as_float(value, what):
    """The text asks for a Python float: a tensor is refused, naming .item()."""
    return as_float(value, what)


def _same_params(a, b):
    return all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


def _one_pass(model, loader, loss_fn, optimizer, *, train_mode=True, zero_grad=True):
    """One epoch as the exercise describes it (and two typical slips, for diagnosis)."""
    model.train(train_mode)
    total, seen = 0.0, 0
    for inputs, targets in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        seen += len(targets)
    return total / seen


def _train_run(fn, *, seed=1, learner=True, **options):
    """Run fn (the learner's or ours) on a fresh toy model; returns (result, model)."""
    model = _toy_model()
    model.eval()  # the learner's function must switch to training mode
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the same dropout masks for every run
        if learner:
            return call(fn, model, _toy_loader(), nn.CrossEntropyLoss(), optimizer), model
        return fn(model, _toy_loader(), nn.CrossEntropyLoss(), optimizer, **options), model


@exercise("ex-8.1")
def check_ex_8_1(train_one_epoch):
    result, model = _train_run(train_one_epoch)
    expected, reference = _train_run(_one_pass, learner=False)
    if not _same_params(model, reference):
        _, no_train_mode = _train_run(_one_pass, learner=False, train_mode=False)
        _, no_zero_grad = _train_run(_one_pass, learner=False, zero_grad=False)
        expect(
            not _same_params(model, no_train_mode),
            "the parameters end up as if dropout had been off: call model.train() at the start "
            "(the model may arrive in eval mode).",
        )
        expect(
            not _same_params(model, no_zero_grad),
            "the parameters end up as if gradients had piled up across batches: call optimizer.zero_grad() "
            "before every backward().",
        )
        expect(
            False,
            "after one epoch the parameters differ from one pass of zero_grad -> forward -> loss -> "
            "backward -> step over every batch, in order.",
        )
    expect(model.training, "the model should be left in training mode.")
    value = _as_float(result, "the returned loss")
    expect(
        math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-6),
        f"the returned loss is {value:.5f}, expected the mean loss per *sample*, {expected:.5f}. The last "
        "batch is smaller than the others: add loss.item() * batch_size and divide by the number of samples.",
    )


def _scores(model, loader, loss_fn):
    model.eval()
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            seen += len(targets)
    return total / seen, correct / seen


@exercise("ex-8.2")
def check_ex_8_2(evaluate):
    model = _toy_model(seed=2)
    model.train()  # the learner's function must switch to eval mode
    seen_modes, seen_grad = [], []

    def record(module, args, output):  # a forward hook must return None (or it replaces the output)
        seen_modes.append(module.training)
        seen_grad.append(torch.is_grad_enabled())

    model.register_forward_hook(record)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        result = call(evaluate, model, _toy_loader(seed=3), nn.CrossEntropyLoss())
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"evaluate should return a pair (mean loss, accuracy), got {type(result).__name__}.",
    )
    expect(bool(seen_modes), "the model was never called: loop over the loader and call model(inputs).")
    expect(
        not any(seen_modes),
        "the model ran in training mode, so dropout changed its outputs: call model.eval() first.",
    )
    expect(
        not any(seen_grad),
        "autograd recorded the forward passes: wrap the loop in `with torch.no_grad():` "
        "(validation needs no gradients, and recording them costs memory).",
    )
    loss, accuracy = (_as_float(v, name) for v, name in zip(result, ("the loss", "the accuracy")))
    expected_loss, expected_accuracy = _scores(
        copy.deepcopy(model), _toy_loader(seed=3), nn.CrossEntropyLoss()
    )
    expect(0.0 <= accuracy <= 1.0, f"the accuracy should be a fraction in [0, 1], got {accuracy}.")
    expect(
        math.isclose(accuracy, expected_accuracy, abs_tol=1e-9),
        f"the accuracy is {accuracy:.4f}, expected {expected_accuracy:.4f}: count outputs.argmax(dim=1) == targets "
        "over all samples and divide by the number of samples.",
    )
    expect(
        math.isclose(loss, expected_loss, rel_tol=1e-5, abs_tol=1e-6),
        f"the loss is {loss:.5f}, expected {expected_loss:.5f}, the mean per sample (the last batch is smaller: "
        "weight each batch's loss by its size).",
    )
    expect(
        all(p.grad is None for p in model.parameters()),
        "evaluation must not compute gradients (no backward()).",
    )
    # No trace: the model leaves in the mode it arrived in, and autograd is on again afterwards.
    expect(
        torch.is_grad_enabled(),
        "autograd is still switched off after your function: use `with torch.no_grad():`, which switches it "
        "back on when the block ends (torch.set_grad_enabled(False) on its own stays off).",
    )
    expect(
        model.training,
        "the model arrived in training mode and left in evaluation mode, so the training that continues "
        "after this evaluation would run without dropout: remember `model.training` before model.eval() "
        "and restore it at the end with model.train(...).",
    )
    model.eval()
    with torch.random.fork_rng(devices=[]):
        call(evaluate, model, _toy_loader(seed=3), nn.CrossEntropyLoss())
    expect(
        not model.training,
        "the model arrived in evaluation mode and left in training mode: restore the mode it had "
        "(model.train(was_training)), not always training mode.",
    )


_HISTORIES = [
    ([0.9, 0.7, 0.5, 0.6, 0.8], 3),
    ([1.2, 0.4, 0.4, 0.3, 0.3, 0.9], 4),  # ties: the first epoch that reached the minimum
    ([0.5], 1),
    ([0.3, 0.4, 0.5, 0.6], 1),
]


@exercise("ex-8.3")
def check_ex_8_3(best_epoch):
    for val_losses, expected in _HISTORIES:
        history = {
            "train_loss": [1.0 - 0.1 * i for i in range(len(val_losses))],  # keeps falling
            "train_acc": [0.5] * len(val_losses),
            "val_loss": list(val_losses),
            "val_acc": [1.0 - v / 2 for v in val_losses],
        }
        result = call(best_epoch, history)
        expect(
            isinstance(result, int) and not isinstance(result, bool),
            f"best_epoch should return an int, got {type(result).__name__} ({result!r}).",
        )
        expect(
            result != expected - 1,
            f"for val_loss {val_losses} you returned {result}, the 0-based position; epochs are counted "
            f"from 1 (the epoch numbers helpers.fit prints), so the answer is {expected}.",
        )
        expect(
            result == expected,
            f"for val_loss {val_losses} the best epoch is {expected}, got {result}. "
            "Use the validation loss (not the training loss); on a tie keep the first epoch.",
        )


def _patience_epoch(val_losses, patience):
    best, bad = math.inf, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, bad = loss, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch
    return len(val_losses)


_STOP_CASES = [
    (
        [1.0, 0.8, 0.9, 0.85, 0.7],
        2,
    ),  # 0.85 is better than the previous epoch but not than the best: stop at 4
    ([1.0, 0.8, 0.9, 0.85, 0.7], 3),  # patience 3: never stops
    ([1.0, 1.0, 1.0, 0.5], 2),  # a tie is not an improvement: stop at 3
    ([0.5, 0.6, 0.4, 0.45, 0.3, 0.35, 0.36], 2),
    ([2.0, 1.0], 1),
    ([0.3, 0.2, 0.4], 1),
]


@exercise("ex-8.4")
def check_ex_8_4(stop_epoch):
    for val_losses, patience in _STOP_CASES:
        expected = _patience_epoch(val_losses, patience)
        result = call(stop_epoch, list(val_losses), patience)
        expect(
            isinstance(result, int) and not isinstance(result, bool),
            f"stop_epoch should return an int (an epoch number), got {type(result).__name__}.",
        )
        expect(
            result == expected,
            f"stop_epoch({val_losses}, patience={patience}) returned {result}, expected {expected}. Count the epochs "
            "since the *best* validation loss so far (not since the previous epoch); only a strictly lower loss "
            "resets the count; stop in the epoch where the count reaches `patience`; epochs count from 1.",
        )


@exercise("ex-8.5")
def check_ex_8_5(initial_loss_gap):
    inputs = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1] * 6)  # only classes 0 and 1 occur, but the model has 5 outputs
    silent = seeded(0, nn.Linear, 4, 5)
    nn.init.zeros_(silent.weight)
    nn.init.zeros_(silent.bias)
    grad_modes = []
    silent.register_forward_hook(lambda module, args, output: grad_modes.append(torch.is_grad_enabled()))
    gap = _as_float(call(initial_loss_gap, silent, inputs, labels), "initial_loss_gap(...)")
    expect(bool(grad_modes), "the model was never called: compute the loss of model(inputs).")
    expect(
        not any(grad_modes), "compute the loss under `with torch.no_grad():` (a check needs no gradients)."
    )
    expect(
        abs(gap - (math.log(5) - math.log(2))) > 1e-3 or abs(gap) < 1e-4,
        "the number of classes is the number of the model's outputs (5 here), not the number of distinct labels "
        "in one batch.",
    )
    expect(
        abs(gap) < 1e-4,
        f"a model whose logits are all zero predicts 1/C for every class, so its loss is exactly "
        f"ln(C) and the gap is 0; you returned {gap:.4f}. Return loss - ln(C).",
    )
    loud = seeded(0, nn.Linear, 4, 5)
    with torch.no_grad():
        loud.weight.mul_(30.0)
    expected = nn.functional.cross_entropy(loud(inputs), labels).item() - math.log(5)
    gap = _as_float(call(initial_loss_gap, loud, inputs, labels), "initial_loss_gap(...)")
    expect(
        math.isclose(gap, expected, rel_tol=1e-4, abs_tol=1e-5),
        f"for a model with large weights the gap should be {expected:.4f}, got {gap:.4f} "
        "(use the cross-entropy of the raw logits: F.cross_entropy(model(inputs), labels)).",
    )


@exercise("ex-8.6")
def check_ex_8_6(most_confused):
    cm = torch.tensor([[50, 2, 0, 1], [3, 40, 9, 0], [0, 4, 45, 1], [6, 0, 2, 30]])
    result = call(most_confused, cm.clone())
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"most_confused should return a pair (true class, predicted class), got {result!r}.",
    )
    true_class, predicted = (python_int(v, "each class of the pair") for v in result)
    expect(
        true_class != predicted,
        f"you returned ({true_class}, {predicted}), a diagonal cell: those are the "
        "*correct* predictions. Ignore the diagonal (e.g. fill it with -1 first).",
    )
    expect(
        (true_class, predicted) != (2, 1),
        "you returned (2, 1): rows are the true classes and columns the "
        "predictions, so cm[1, 2] = 9 means 'true 1 predicted as 2'.",
    )
    expect(
        (true_class, predicted) == (1, 2),
        f"the largest off-diagonal count is cm[1, 2] = 9, got ({true_class}, {predicted}).",
    )
    perfect = torch.tensor([[5, 0, 0], [0, 9, 0], [0, 0, 8]])
    result = call(most_confused, perfect.clone())
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2 and int(result[0]) != int(result[1]),
        f"for a perfect matrix {perfect.tolist()} (no mistakes) you returned {tuple(result)}, a diagonal "
        "cell: with the diagonal set to 0 a correct cell ties with the zero mistakes and can win. "
        "Make the diagonal lose every comparison (e.g. fill it with -1).",
    )
    other = torch.tensor([[5, 0, 7], [1, 9, 0], [0, 3, 8]])
    original = other.clone()
    result = call(most_confused, other)
    expect(
        tuple(int(v) for v in result) == (0, 2), f"for {other.tolist()} expected (0, 2), got {tuple(result)}."
    )
    expect(
        torch.equal(other, original),
        "most_confused changed the matrix it was given: work on a copy (cm.clone()).",
    )


_LOGITS = torch.tensor(
    [
        [0.1, 2.0, 0.3, -1.0],  # ranking: 1, 2, 0, 3
        [1.5, 0.2, 0.1, 1.0],  # ranking: 0, 3, 1, 2
        [0.0, 0.5, -0.5, 3.0],  # ranking: 3, 1, 0, 2
        [2.0, 1.0, 3.0, 0.5],  # ranking: 2, 0, 1, 3
        [0.3, 0.2, 0.1, 0.0],
    ]
)  # ranking: 0, 1, 2, 3
_LABELS = torch.tensor([1, 3, 0, 1, 3])  # ranks 1, 2, 3, 3, 4


@exercise("ex-8.7")
def check_ex_8_7(top_k_accuracy):
    for k, expected in ((1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0)):
        result = _as_float(
            call(top_k_accuracy, _LOGITS.clone(), _LABELS.clone(), k), f"top_k_accuracy(..., k={k})"
        )
        expect(
            math.isclose(result, expected, abs_tol=1e-6),
            f"for k={k} expected {expected} (the true class is among the {k} largest logits in "
            f"{int(expected * 5)} of 5 rows), got {result:.4f}. Take the k largest logits of each row "
            "(dim=1) and check whether the label is among them.",
        )
    logits = torch.randn(64, 10, generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(2))
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    result = _as_float(call(top_k_accuracy, logits, labels, 1), "top_k_accuracy(..., k=1)")
    expect(
        math.isclose(result, accuracy, abs_tol=1e-6),
        "with k=1 top-k accuracy must equal the ordinary accuracy.",
    )


def _loop_setup(seed=4):
    """A toy model with dropout, SGD with momentum, a step scheduler and two fixed loaders."""
    model = _toy_model(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler, _toy_loader(n=40, seed=5), _toy_loader(n=24, seed=6)


@exercise("ex-8.8")
def check_ex_8_8(fit_loop):
    from ...checkpoint import load_checkpoint
    from ...training import fit

    epochs, patience = 12, 2
    with tempfile.TemporaryDirectory() as folder:
        ours, path = Path(folder) / "fit.pt", Path(folder) / "yours.pt"
        model_fit, optimizer_fit, scheduler_fit, train, val = _loop_setup()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the same dropout masks in both runs
            expected = fit(
                model_fit,
                train,
                val,
                nn.CrossEntropyLoss(),
                optimizer_fit,
                epochs,
                scheduler=scheduler_fit,
                checkpoint_path=ours,
                patience=patience,
                progress=False,
                verbose=False,
            )
        model, optimizer, scheduler, train, val = _loop_setup()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            history = call(
                fit_loop,
                model,
                train,
                val,
                nn.CrossEntropyLoss(),
                optimizer,
                scheduler,
                epochs,
                patience,
                path,
            )
        expect(
            isinstance(history, dict) and {"train_loss", "val_loss", "val_acc"} <= set(history),
            "fit_loop should return a dict with the lists 'train_loss', 'val_loss' and 'val_acc', got "
            f"{type(history).__name__}{f' with keys {sorted(history)}' if isinstance(history, dict) else ''}.",
        )
        n, n_expected = len(history["val_loss"]), len(expected["val_loss"])
        expect(
            n == n_expected or n != epochs,
            f"your loop ran all {epochs} epochs; helpers.fit stopped after {n_expected}: stop once `patience` "
            "epochs in a row brought no strictly lower validation loss than the best so far.",
        )
        expect(
            n == n_expected,
            f"your loop ran {n} epochs, helpers.fit {n_expected} (patience {patience}): count the epochs since "
            "the best validation loss, reset the count only on a strictly lower loss, stop when it reaches "
            "patience.",
        )
        for key in ("train_loss", "val_loss", "val_acc"):
            values = [as_float(v, f"history['{key}'][{i}]") for i, v in enumerate(history[key])]
            differ = [
                i + 1
                for i, (a, b) in enumerate(zip(values, expected[key], strict=True))
                if not math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)
            ]
            expect(
                not differ,
                f"history['{key}'] differs from helpers.fit's from epoch {differ[0] if differ else 0} on: "
                "train one epoch, evaluate, then step the scheduler once per epoch (not per batch, "
                "not before training).",
            )
        expect(
            math.isclose(optimizer.param_groups[0]["lr"], optimizer_fit.param_groups[0]["lr"]),
            f"after the run the learning rate is {optimizer.param_groups[0]['lr']}, with helpers.fit "
            f"{optimizer_fit.param_groups[0]['lr']}: step the scheduler exactly once per epoch.",
        )
        expect(_same_params(model, model_fit), "the final weights differ from helpers.fit's.")
        expect(path.is_file(), "nothing was saved at path: save model.state_dict() there with torch.save.")
        try:
            saved = torch.load(path, weights_only=True)
        except Exception as err:
            raise ExerciseFailed(
                f"the file at path does not load with torch.load ({type(err).__name__})."
            ) from None
        best = _toy_model(seed=9)
        load_checkpoint(ours, best)
        expect(
            isinstance(saved, dict) and _same_state_values(saved, best.state_dict()),
            "the file at path does not hold the weights of the best epoch (lowest validation loss): save "
            "model.state_dict() whenever the validation loss is strictly lower than every earlier one.",
        )


def _same_state_values(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in b)
