"""Plausible wrong answers for Chapter 7, each with the words its check's feedback must contain."""

from pathlib import Path

import torch
from torch import nn

from helpers.checkpoint import CheckpointError, load_checkpoint


def _buffers_including_non_persistent(model):
    return sorted(name for name, _ in model.named_buffers())  # also lists buffers that are never saved


def _load_trusting_the_file(path, make_model):
    model = make_model()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))  # runs code in the file
    return model.eval()


def _load_strict_false(model, state_dict):
    return sorted(model.load_state_dict(state_dict, strict=False).missing_keys)  # raises on shape mismatch


def _replace_then_freeze(model, num_classes):
    model.net[-1] = nn.Linear(model.net[-1].in_features, num_classes)
    model.requires_grad_(False)  # freezes the new head too
    return model


def _restart_on_any_error(path, model, optimizer):
    try:
        return load_checkpoint(path, model, optimizer)["epoch"] + 1
    except CheckpointError:  # also swallows corrupt files
        return 1


def _buffers_from_state_dict(model, *, sort=True, kind="list", running_only=False):
    params = {n for n, _ in model.named_parameters()}
    keys = [k for k in model.state_dict() if k not in params and (not running_only or "running" in k)]
    keys = sorted(keys) if sort else keys[::-1]
    return set(keys) if kind == "set" else keys


def _load_for_inference(path, make_model, *, evaluate=True, fresh=False, swallow=False, return_state=False):
    model = make_model()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        if not swallow:
            raise
        state = {}
    model.load_state_dict(state, strict=not swallow)
    if return_state:
        return state
    if fresh:
        model = make_model()
    return model.eval() if evaluate else model


def _snapshot(model, *, how):
    if how == "detach":
        return {k: v.detach() for k, v in model.state_dict().items()}
    if how == "parameters":
        return {k: v.detach().clone() for k, v in model.named_parameters()}
    if how == "sorted":
        return {k: v.clone() for k, v in sorted(model.state_dict().items())}
    return [v.clone() for v in model.state_dict().values()]


def _load_matching(model, state_dict, *, report="skipped", sort=True, check_missing=True):
    own = model.state_dict()
    usable = {k: v for k, v in state_dict.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    if report == "loaded":
        keys = list(usable)
    elif report == "none":
        keys = []
    else:
        keys = [k for k in own if k not in usable and (check_missing or k in state_dict)]
    return sorted(keys) if sort else keys  # state_dict order: weight before bias


def _new_head(model, num_classes, *, freeze=True, in_features="last", append=False):
    if freeze:
        model.requires_grad_(False)
    old = model.net[-1]
    size = old.in_features if in_features == "last" else 16
    if append:
        model.net.append(nn.Linear(old.out_features, num_classes))
    else:
        model.net[-1] = nn.Linear(size, num_classes)
    return model


def _start_epoch(
    path, model, optimizer, *, plus_one=True, check_exists=True, with_optimizer=True, wrap=False
):
    if check_exists and not path.exists():
        return 1
    try:
        checkpoint = load_checkpoint(path, model, optimizer if with_optimizer else None)
    except CheckpointError as err:
        if wrap:
            raise ValueError(str(err)) from None
        raise
    return checkpoint["epoch"] + (1 if plus_one else 0)


def _train_resumable(model, optimizer, train_loader, loss_fn, epochs, path, max_batches, *, mistake=""):
    """Training that stops after max_batches and resumes from path, with one slip named by ``mistake``."""
    epoch, done = 1, 0
    epoch_start = train_loader.generator.get_state()
    if Path(path).exists() and mistake != "ignore_file":
        state = torch.load(path, weights_only=mistake != "pickle_generator")
        if mistake != "no_model":
            model.load_state_dict(state["model"])
        if mistake != "no_optimizer":
            optimizer.load_state_dict(state["optimizer"])
        if mistake != "no_torch_rng":
            torch.set_rng_state(state["torch_rng"])
        epoch, done = state["epoch"], state["done"]
        if mistake == "pickle_generator":
            train_loader.generator.set_state(state["generator"].get_state())
        else:
            epoch_start = state["epoch_start"]
        if mistake == "restart_epoch":
            done = 0  # replays the whole interrupted epoch
        elif mistake == "skip_one_more":
            done += 1
    losses = []
    while epoch <= epochs:
        if mistake == "reseed":
            train_loader.generator.manual_seed(epoch)  # a fresh order per epoch, but not the loader's own
        elif mistake not in ("state_at_stop", "pickle_generator"):
            train_loader.generator.set_state(epoch_start)
        for i, (x, y) in enumerate(train_loader):
            if i < done:
                continue
            if max_batches is not None and len(losses) >= max_batches and mistake != "ignore_budget":
                if mistake == "no_save":
                    return losses
                state = {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch,
                    "done": i,
                    "epoch_start": train_loader.generator.get_state()  # the state now: after the epoch's draws
                    if mistake == "state_at_stop"
                    else epoch_start,
                    "torch_rng": torch.get_rng_state(),
                }
                if mistake == "pickle_generator":
                    state["generator"] = train_loader.generator  # an object, not a state
                torch.save(state, path)
                return losses
            if mistake != "no_zero_grad":
                optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss if mistake == "tensor_losses" else loss.item())
        epoch, done = epoch + 1, 0
        epoch_start = train_loader.generator.get_state()
    return losses


def train_resumable_with(mistake):
    return lambda *args: _train_resumable(*args, mistake=mistake)


WRONG = {
    "ex-7.1": [
        (lambda: _buffers_including_non_persistent, "persistent=False"),
        (lambda: lambda model: sorted(model.state_dict()), "contains parameters"),
        (lambda: lambda model: _buffers_from_state_dict(model, sort=False), "not sorted"),
        (lambda: lambda model: _buffers_from_state_dict(model, kind="set"), "list of key strings"),
        (
            lambda: lambda model: _buffers_from_state_dict(model, running_only=True),
            "expected 3 buffer key(s)",
        ),
    ],
    "ex-7.2": [
        (lambda: _load_trusting_the_file, "weights_only=True"),
        (lambda: lambda p, make: _load_for_inference(p, make, evaluate=False), "still in training mode"),
        (lambda: lambda p, make: _load_for_inference(p, make, return_state=True), "should return the model"),
        (lambda: lambda p, make: _load_for_inference(p, make, fresh=True), "does not hold the saved weights"),
        (lambda: lambda p, make: _load_for_inference(p, make, swallow=True), "was not refused"),
    ],
    "ex-7.3": [
        (lambda: lambda model: dict(model.state_dict()), "references, not copies"),
        (lambda: lambda model: _snapshot(model, how="detach"), "references, not copies"),
        (lambda: lambda model: _snapshot(model, how="parameters"), "keys differ"),
        (lambda: lambda model: _snapshot(model, how="sorted"), "keys differ"),
        (lambda: lambda model: _snapshot(model, how="list"), "should return a dict"),
    ],
    "ex-7.4": [
        (lambda: _load_strict_false, "size mismatch"),
        (lambda: lambda m, sd: _load_matching(m, sd, report="loaded"), "expected the head's two keys"),
        (lambda: lambda m, sd: _load_matching(m, sd, report="none"), "expected the head's two keys"),
        (lambda: lambda m, sd: _load_matching(m, sd, sort=False), "not sorted"),
        (lambda: lambda m, sd: _load_matching(m, sd, check_missing=False), "every key of the model"),
    ],
    "ex-7.5": [
        (lambda: _replace_then_freeze, "was the new head frozen too"),
        (lambda: lambda m, c: _new_head(m, c, freeze=False), "freezes the body"),
        (lambda: lambda m, c: _new_head(m, c, in_features="first"), "should map 8 -> 2"),
        (lambda: lambda m, c: _new_head(m, c, append=True), "should map 16 -> 3"),
        (lambda: lambda m, c: _new_head(m, c).net, "should return the MLP"),
    ],
    "ex-7.6": [
        (lambda: lambda p, m, o: float(_start_epoch(p, m, o)), "should be a Python int"),
        (lambda: _restart_on_any_error, "silently starting over"),
        (lambda: lambda p, m, o: _start_epoch(p, m, o, plus_one=False), "expected 4"),
        (
            lambda: lambda p, m, o: _start_epoch(p, m, o, check_exists=False),
            "your code raised CheckpointError",
        ),
        (
            lambda: lambda p, m, o: _start_epoch(p, m, o, with_optimizer=False),
            "optimizer state was not loaded",
        ),
        (lambda: lambda p, m, o: _start_epoch(p, m, o, wrap=True), "expected a CheckpointError"),
    ],
    "ex-7.7": [
        (lambda: train_resumable_with("state_at_stop"), "when that epoch begins"),
        (lambda: train_resumable_with("restart_epoch"), "count the batches"),
        (lambda: train_resumable_with("skip_one_more"), "count the batches"),
        (lambda: train_resumable_with("no_optimizer"), "optimizer's state"),
        (lambda: train_resumable_with("no_torch_rng"), "global random state"),
        (lambda: train_resumable_with("no_model"), "weights were not the ones saved"),
        (lambda: train_resumable_with("ignore_file"), "weights were not the ones saved"),
        (lambda: train_resumable_with("pickle_generator"), "weights_only=True"),
        (lambda: train_resumable_with("ignore_budget"), "max_batches"),
        (lambda: train_resumable_with("no_save"), "left no checkpoint"),
        (lambda: train_resumable_with("reseed"), "do not reseed"),
        (lambda: train_resumable_with("no_zero_grad"), "zero_grad"),
        (lambda: train_resumable_with("tensor_losses"), "Python floats"),
    ],
}
