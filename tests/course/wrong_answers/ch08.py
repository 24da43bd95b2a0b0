"""Plausible wrong answers for Chapter 8, each with the words its check's feedback must contain."""

import math
import warnings

import torch
import torch.nn.functional as F


def _train_without_zero_grad(model, loader, loss_fn, optimizer):
    model.train()
    total, seen = 0.0, 0
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)  # forgot optimizer.zero_grad(): gradients pile up
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        seen += len(targets)
    return total / seen


def _evaluate_in_train_mode(model, loader, loss_fn):
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():  # forgot model.eval(): dropout stays on
        for inputs, targets in loader:
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            seen += len(targets)
    return total / seen, correct / seen


def _evaluate_left_in_eval_mode(model, loader, loss_fn):  # the lesson's loop: no restore
    return _evaluate(model, loader, loss_fn)


def _evaluate_always_back_to_train(model, loader, loss_fn):
    result = _evaluate(model, loader, loss_fn)
    model.train()  # right only when it arrived in training mode
    return result


def _evaluate_grad_off_for_good(model, loader, loss_fn):
    was_training = model.training
    model.eval()
    torch.set_grad_enabled(False)  # never switched back on
    total, correct, seen = 0.0, 0, 0
    for inputs, targets in loader:
        outputs = model(inputs)
        total += loss_fn(outputs, targets).item() * len(targets)
        correct += (outputs.argmax(dim=1) == targets).sum().item()
        seen += len(targets)
    model.train(was_training)
    return total / seen, correct / seen


def _evaluate_restores_before_the_loop(model, loader, loss_fn):
    was_training = model.training
    model.eval()
    model.train(was_training)  # restored too early: the forward passes run in training mode
    return _evaluate(model, loader, loss_fn, mode=False)


def _stop_when_worse_than_previous(val_losses, patience):
    bad = 0
    for epoch in range(2, len(val_losses) + 1):  # compares with the previous epoch, not the best so far
        bad = bad + 1 if val_losses[epoch - 1] >= val_losses[epoch - 2] else 0
        if bad >= patience:
            return epoch
    return len(val_losses)


def _gap_with_classes_from_labels(model, inputs, labels):
    with torch.no_grad():
        loss = F.cross_entropy(model(inputs), labels)
    return loss.item() - math.log(int(labels.max()) + 1)  # counts the classes in the batch, not the outputs


def _train(model, loader, loss_fn, optimizer, *, mode=True, zero=True, per="sample", as_tensor=False):
    if mode:
        model.train()
    total, seen, batches = 0.0, 0, 0
    for inputs, targets in loader:
        if zero:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += (loss.item() * len(targets)) if per == "sample" else loss.item()
        seen += len(targets)
        batches += 1
    value = total / seen if per == "sample" else total / batches
    return torch.tensor(value) if as_tensor else value


def _train_step_before_backward(model, loader, loss_fn, optimizer):
    model.train()
    total, seen = 0.0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        optimizer.step()  # before backward: uses the previous (cleared) gradients
        loss.backward()
        total += loss.item() * len(targets)
        seen += len(targets)
    return total / seen


def _evaluate(model, loader, loss_fn, *, mode=True, no_grad=True, per="sample", percent=False, tensors=False):
    if mode:
        model.eval()
    total, correct, seen, batches = 0.0, 0, 0, 0
    with torch.set_grad_enabled(not no_grad):
        for inputs, targets in loader:
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            total += loss.item() * len(targets) if per == "sample" else loss.item()
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            seen += len(targets)
            batches += 1
    loss = total / seen if per == "sample" else total / batches
    accuracy = correct / seen * (100 if percent else 1)
    return (torch.tensor(loss), torch.tensor(accuracy)) if tensors else (loss, accuracy)


def _best(history, *, key="val_loss", base=1, pick=min, kind=int):
    values = history[key]
    index = pick(range(len(values)), key=values.__getitem__)
    return kind(index + base)


def _best_last_tie(history):
    values = history["val_loss"]
    best = min(values)
    return max(i for i, v in enumerate(values) if v == best) + 1


def _stop(val_losses, patience, *, strict=True, offset=0, reach=True):
    best, bad = math.inf, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if (loss < best) if strict else (loss <= best):
            best, bad = loss, 0
        else:
            bad += 1
            if (bad >= patience) if reach else (bad > patience):
                return epoch + offset
    return len(val_losses) + offset


def _gap(model, inputs, labels, *, no_grad=True, log=math.log, probs=False, sign=1.0):
    with torch.set_grad_enabled(not no_grad):
        logits = model(inputs)
        loss = F.cross_entropy(logits.softmax(dim=1) if probs else logits, labels)
    return sign * (loss.item() - log(logits.shape[1]))


def _confused(cm, *, diagonal="minus-one", transpose=False, in_place=False):
    mistakes = cm if in_place else cm.clone()
    if diagonal == "minus-one":
        mistakes.fill_diagonal_(-1)
    elif diagonal == "zero":
        mistakes.fill_diagonal_(0)
    index = int(mistakes.argmax())
    pair = (index // cm.shape[1], index % cm.shape[1])
    return pair[::-1] if transpose else pair


def _top_k(logits, labels, k, *, dim=1, largest=True, as_tensor=False, count=False):
    top = logits.topk(k, dim=dim, largest=largest).indices
    if dim == 0:
        top = top.T[: len(labels)]
    hit = (top == labels.unsqueeze(1)).any(dim=1)
    value = hit.sum() if count else hit.float().mean()
    return value if as_tensor else value.item()


WRONG = {
    "ex-8.1": [
        (lambda: _train_without_zero_grad, "gradients had piled up"),
        (lambda: lambda *a: _train(*a, mode=False), "dropout had been off"),
        (lambda: lambda *a: _train(*a, per="batch"), "per *sample*"),
        (lambda: lambda *a: _train(*a, as_tensor=True), "Python float"),
        (lambda: _train_step_before_backward, "zero_grad -> forward -> loss"),
    ],
    "ex-8.2": [
        (lambda: _evaluate_in_train_mode, "call model.eval() first"),
        (lambda: lambda *a: _evaluate(*a, no_grad=False), "torch.no_grad()"),
        (lambda: lambda *a: _evaluate(*a, per="batch"), "weight each batch's loss"),
        (lambda: lambda *a: _evaluate(*a, percent=True), "fraction in [0, 1]"),
        (lambda: lambda *a: _evaluate(*a, tensors=True), "Python float"),
        (lambda: _evaluate_left_in_eval_mode, "arrived in training mode and left in evaluation mode"),
        (lambda: _evaluate_always_back_to_train, "arrived in evaluation mode and left in training mode"),
        (lambda: _evaluate_grad_off_for_good, "autograd is still switched off"),
        (lambda: _evaluate_restores_before_the_loop, "call model.eval() first"),
    ],
    "ex-8.3": [
        (lambda: lambda h: _best(h, base=0), "0-based position"),
        (lambda: lambda h: _best(h, key="train_loss"), "not the training loss"),
        (lambda: lambda h: _best(h, key="val_acc"), "best epoch is"),
        (lambda: _best_last_tie, "keep the first epoch"),
        (lambda: lambda h: _best(h, kind=float), "should return an int"),
    ],
    "ex-8.4": [
        (lambda: _stop_when_worse_than_previous, "since the *best*"),
        (lambda: lambda v, p: _stop(v, p, strict=False), "only a strictly lower loss"),
        (lambda: lambda v, p: _stop(v, p, offset=-1), "epochs count from 1"),
        (lambda: lambda v, p: _stop(v, p, reach=False), "reaches `patience`"),
        (lambda: lambda v, p: float(_stop(v, p)), "should return an int"),
    ],
    "ex-8.5": [
        (lambda: _gap_with_classes_from_labels, "not the number of distinct labels"),
        (lambda: lambda m, x, y: _gap(m, x, y, no_grad=False), "torch.no_grad()"),
        (lambda: lambda m, x, y: _gap(m, x, y, log=math.log2), "the gap is 0"),
        (lambda: lambda m, x, y: _gap(m, x, y, probs=True), "raw logits"),
        (lambda: lambda m, x, y: torch.tensor(_gap(m, x, y)), "Python float"),
    ],
    "ex-8.6": [
        (lambda: lambda cm: tuple(torch.tensor(v) for v in _confused(cm)), "should be a Python int"),
        (lambda: lambda cm: divmod(int(cm.argmax()), cm.shape[1]), "a diagonal cell"),
        (lambda: lambda cm: _confused(cm, diagonal="zero"), "perfect matrix"),
        (lambda: lambda cm: _confused(cm, transpose=True), "rows are the true classes"),
        (lambda: lambda cm: _confused(cm, in_place=True), "changed the matrix"),
        (lambda: lambda cm: int(_confused(cm)[0] * cm.shape[1] + _confused(cm)[1]), "a pair"),
    ],
    "ex-8.7": [
        (lambda: lambda z, y, k: _top_k(z, y, k, largest=False), "k largest logits"),
        (lambda: lambda z, y, k: _top_k(z, y, k, as_tensor=True), "convert it with .item()"),
        (lambda: lambda z, y, k: _top_k(z, y, k, count=True), "for k=1 expected 0.2"),
        (lambda: lambda z, y, k: _top_k(z, y, k, dim=0), "must match the size"),
        (lambda: lambda z, y, k: _top_k(z, y, k + 1), "for k=1 expected 0.2"),
    ],
}


# ---- ex-8.8: the whole loop, built on correct pieces -------------------------------------------------


def _one_epoch(model, loader, loss_fn, optimizer):
    return _train(model, loader, loss_fn, optimizer)


def _validate(model, loader, loss_fn):
    return _evaluate(model, loader, loss_fn)


def _fit_loop(
    model, train_loader, val_loader, loss_fn, optimizer, scheduler, epochs, patience, path, *, slip=""
):
    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    best, bad, previous = math.inf, 0, math.inf
    for _ in range(epochs):
        if slip == "scheduler_first":
            with warnings.catch_warnings():  # the slip PyTorch warns about
                warnings.simplefilter("ignore")
                scheduler.step()
        train_loss = _one_epoch(model, train_loader, loss_fn, optimizer)
        val_loss, val_acc = _validate(model, val_loader, loss_fn)
        if slip not in ("scheduler_first", "no_scheduler"):
            scheduler.step()
        for key, value in zip(history, (train_loss, val_loss, val_acc)):
            history[key].append(value)
        if slip == "save_every_epoch":
            torch.save(model.state_dict(), path)
        better = val_loss < previous if slip == "compare_previous" else val_loss < best
        previous = val_loss
        if better:
            best, bad = val_loss, 0
            if slip != "save_every_epoch":
                torch.save(model.state_dict(), path)
        else:
            bad += 1
            if bad >= patience and slip != "no_early_stop":
                break
    return history


def _loop(slip):
    return lambda *args: _fit_loop(*args, slip=slip)


WRONG["ex-8.8"] = [
    (lambda: _loop("no_early_stop"), "your loop ran all 12 epochs"),
    (lambda: _loop("save_every_epoch"), "weights of the best epoch"),
    (lambda: _loop("scheduler_first"), "step the scheduler"),
    (lambda: _loop("no_scheduler"), "step the scheduler"),
    (lambda: lambda *args: {"val_loss": _fit_loop(*args)["val_loss"]}, "with the lists"),
]
