"""Reusable pieces of the PyTorch Core Modules course-book.

Modules (one concern each, each readable in one sitting):
    device      choose cuda -> mps -> cpu; seed everything
    models      MLP and SmallCNN
    training    train_one_epoch, evaluate, fit, predict
    data        FashionMNIST with an offline fallback (scikit-learn digits); DataLoaders
    plotting    learning curves, image grids
    checkpoint  atomic save/load of model + optimizer + epoch + metrics
    exercises   check("ex-N.M", answer): self-checking exercises
"""

from .device import describe_device, get_device, seed_everything
from .exercises import check
from .models import MLP, SmallCNN, count_parameters
from .training import evaluate, fit, predict, train_one_epoch

__version__ = "0.1.0"

__all__ = ["MLP", "SmallCNN", "check", "count_parameters", "describe_device", "evaluate", "fit",
           "get_device", "predict", "seed_everything", "train_one_epoch", "__version__"]
