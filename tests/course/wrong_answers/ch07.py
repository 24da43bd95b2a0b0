"""Plausible wrong answers for Chapter 7: each must make its check fail (not "not solved")."""

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


WRONG = {
    "ex-7.1": lambda: _buffers_including_non_persistent,
    "ex-7.2": lambda: _load_trusting_the_file,
    "ex-7.3": lambda: lambda model: dict(model.state_dict()),  # a new dict, but the same tensors
    "ex-7.4": lambda: _load_strict_false,
    "ex-7.5": lambda: _replace_then_freeze,
    "ex-7.6": lambda: _restart_on_any_error,
    "ex-7.7": lambda: (_save_without_shuffle_state, _load_without_shuffle_state),
}
