"""Reusable pieces of the PyTorch Core Modules course-book.

Modules (one concern each, each readable in one sitting):
    device      choose cuda -> mps -> cpu; seed everything
    models      MLP and SmallCNN
    training    train_one_epoch, evaluate, fit, predict
    data        FashionMNIST with an offline fallback (scikit-learn digits); DataLoaders
    plotting    learning curves, image grids
    checkpoint  atomic save/load of model + optimizer + epoch + metrics
    exercises   check("ex-N.M", answer): self-checking exercises
    quiz        multiple-choice "check your understanding" questions
    graph       draw autograd's graph from a tensor's grad_fn (Chapter 2)
    summary     a layer-by-layer table of output shapes and parameters (Chapter 3)
    activations activation functions with their derivatives, plots and an explorer (Chapter 4)
    optim_viz   optimizers on 2-D test surfaces, learning-rate schedules (Chapter 5)
    pipeline    the wine CSV, an IterableDataset, ImageFolder files, loader throughput (Chapter 6)
    metrics     confusion matrix and per-class accuracy (Chapter 8)
"""

from .device import describe_device, get_device, seed_everything
from .exercises import check
from .models import MLP, SmallCNN, count_parameters
from .training import evaluate, fit, predict, train_one_epoch

__version__ = "0.1.0"

__all__ = ["MLP", "SmallCNN", "check", "count_parameters", "describe_device", "evaluate", "fit",
           "get_device", "predict", "seed_everything", "train_one_epoch", "__version__"]
