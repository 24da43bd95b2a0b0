import pytest
import torch
from torch import nn

from helpers import MLP, SmallCNN, count_parameters


def test_mlp_shapes_and_parameter_count():
    model = MLP(784, hidden=(256,), out_features=10)
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert count_parameters(model) == 784 * 256 + 256 + 256 * 10 + 10


def test_mlp_without_hidden_layers_is_linear():
    model = MLP(4, hidden=(), out_features=3)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 1 and model(torch.rand(2, 4)).shape == (2, 3)


def test_mlp_dropout_and_activation_are_configurable():
    model = MLP(8, hidden=(16, 16), out_features=2, activation=nn.Tanh, dropout=0.5)
    kinds = [type(m) for m in model.net]
    assert kinds.count(nn.Tanh) == 2 and kinds.count(nn.Dropout) == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(in_features=0),
        dict(in_features=4, hidden=(0,)),
        dict(in_features=4, out_features=-1),
        dict(in_features=4, dropout=1.0),
    ],
)
def test_mlp_rejects_bad_configuration(kwargs):
    with pytest.raises(ValueError):
        MLP(**kwargs)


def test_mlp_wrong_input_size_says_what_was_expected():
    with pytest.raises(ValueError, match="784 features per sample, got shape \\(2, 64\\)"):
        MLP(784)(torch.rand(2, 64))


@pytest.mark.parametrize("size, side", [(28, 7), (8, 2)])
def test_small_cnn_for_28_and_8(size, side):
    model = SmallCNN(image_size=size)
    assert model(torch.rand(3, 1, size, size)).shape == (3, 10)
    assert model.features(torch.rand(1, 1, size, size)).shape == (1, 64, side, side)


def test_small_cnn_rejects_wrong_input_shape():
    with pytest.raises(
        ValueError, match="expected input of shape \\(batch, 1, 28, 28\\), got \\(2, 28, 28\\)"
    ):
        SmallCNN(28)(torch.rand(2, 28, 28))


@pytest.mark.parametrize("size", [0, 10, 7.0])
def test_small_cnn_rejects_bad_image_size(size):
    with pytest.raises(ValueError, match="multiple of 4"):
        SmallCNN(image_size=size)


def test_count_parameters_trainable_only():
    model = MLP(4, hidden=(3,), out_features=2)
    model.net[1].requires_grad_(False)
    assert count_parameters(model) == 3 * 2 + 2
    assert count_parameters(model, trainable_only=False) == 4 * 3 + 3 + 3 * 2 + 2
