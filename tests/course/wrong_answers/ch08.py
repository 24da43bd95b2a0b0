"""Plausible wrong answers for Chapter 8: each must make its check fail (not "not solved")."""

import math

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


WRONG = {
    "ex-8.1": lambda: _train_without_zero_grad,
    "ex-8.2": lambda: _evaluate_in_train_mode,
    "ex-8.3": lambda: (
        lambda history: min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
    ),  # 0-based
    "ex-8.4": lambda: _stop_when_worse_than_previous,
    "ex-8.5": lambda: _gap_with_classes_from_labels,
    "ex-8.6": lambda: lambda cm: divmod(int(cm.argmax()), cm.shape[1]),  # forgot to ignore the diagonal
    "ex-8.7": lambda: (
        lambda logits, labels, k: (  # the k *smallest* logits
            (logits.argsort(dim=1)[:, :k] == labels.unsqueeze(1)).any(dim=1).float().mean().item()
        )
    ),
}
