"""Plausible wrong answers for Chapter 7, each with the words its check's feedback must contain."""

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


def _save_without_shuffle_state(path, model, optimizer, epoch, train_loader):
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "torch_rng": torch.get_rng_state(),
        },
        path,
    )
    return path


def _load_without_shuffle_state(path, model, optimizer, train_loader):
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    return state["epoch"] + 1


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


def _save_state(
    path, model, optimizer, epoch, train_loader, *, shuffle=True, rng=True, optim=True, pickle=False
):
    state = {"model": model.state_dict(), "epoch": epoch}
    if optim:
        state["optimizer"] = optimizer.state_dict()
    if rng:
        state["torch_rng"] = torch.get_rng_state()
    if shuffle:
        state["shuffle"] = train_loader.generator if pickle else train_loader.generator.get_state()
    torch.save(state, path)
    return path


def _load_state(path, model, optimizer, train_loader, *, plus_one=True):
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    if "shuffle" in state:
        train_loader.generator.set_state(state["shuffle"])
    return state["epoch"] + (1 if plus_one else 0)


def _pair(**save_options):
    plus_one = save_options.pop("plus_one", True)
    return (
        lambda *a: _save_state(*a, **save_options),
        lambda *a: _load_state(*a, plus_one=plus_one),
    )


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
        (lambda: (_save_without_shuffle_state, _load_without_shuffle_state), "shuffle generator"),
        (lambda: _pair(rng=False), "global random state"),
        (lambda: _pair(plus_one=False), "should return 3"),
        (lambda: _pair(pickle=True), "weights_only=True"),
        (lambda: _pair(optim=False), "optimizer's state was not restored"),
    ],
}
