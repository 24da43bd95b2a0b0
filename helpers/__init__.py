"""Reusable pieces of the PyTorch Core Modules course-book, in three layers.

The learner's library (what you keep using after the course; ``import helpers`` gives all of it):
    device      choose cuda -> mps -> cpu; seed everything
    models      MLP and SmallCNN
    training    train_one_epoch, evaluate, fit (with resume_from), predict; catches common data mistakes
    data        the book's data folder; FashionMNIST with an offline fallback (scikit-learn digits); DataLoaders
    checkpoint  atomic save/load of model + optimizer + scheduler + epoch + metrics, checked before loading
    plotting    learning curves, image grids
    metrics     confusion matrix and per-class accuracy
    summary     a layer-by-layer table of output shapes and parameters
    errors      shows_error: demonstrate an expected error without stopping "Run all"
    distributed torchrun setup, sharded loaders, averages over processes (``helpers.distributed``, Chapter 10)

``helpers.demos``: one module per chapter's teaching gadgets (graph, activations, optim_viz, pipeline).
``helpers.course``: the course machinery (self-checking exercises, quizzes, the checks of each chapter).
"""

from __future__ import annotations

from typing import Any

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import ImageData, data_dir, load_digits_data, load_image_data, make_loaders
from .device import describe_device, get_device, seed_everything
from .errors import shows_error
from .metrics import confusion_matrix, per_class_accuracy, plot_confusion_matrix
from .models import MLP, SmallCNN, count_parameters
from .training import evaluate, fit, predict, train_one_epoch

__version__ = "0.2.0"


def check(exercise_id: str, answer: Any) -> Any:
    """Check a learner's answer to an exercise, print one line of feedback; truthy if it passed.

    See ``helpers.course.exercises``.

    Imports only the checks of the exercise's own chapter, so ``import helpers`` stays cheap.
    """
    from .course.exercises import check as _check

    return _check(exercise_id, answer)


__all__ = [
    "MLP",
    "CheckpointError",
    "ImageData",
    "SmallCNN",
    "__version__",
    "check",
    "confusion_matrix",
    "count_parameters",
    "data_dir",
    "describe_device",
    "evaluate",
    "fit",
    "get_device",
    "load_checkpoint",
    "load_digits_data",
    "load_image_data",
    "make_loaders",
    "per_class_accuracy",
    "plot_confusion_matrix",
    "predict",
    "save_checkpoint",
    "seed_everything",
    "shows_error",
    "train_one_epoch",
]
