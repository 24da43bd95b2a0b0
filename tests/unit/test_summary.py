import pytest
import torch
from torch import nn

from helpers import MLP, SmallCNN, count_parameters
from helpers.summary import LayerInfo, format_summary, summary


def test_small_cnn_shapes_trace_28_14_7(capsys):
    model = SmallCNN(image_size=28)
    rows = summary(model, (2, 1, 28, 28))
    assert [r.name for r in rows][:3] == ["features.0", "features.1", "features.2"]
    assert [r.kind for r in rows] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]
    pools = [r.output_shape for r in rows if r.kind == "MaxPool2d"]
    assert pools == [(2, 32, 14, 14), (2, 64, 7, 7)]
    assert rows[-1].output_shape == (2, 10)
    assert sum(r.num_params for r in rows) == count_parameters(model)
    out = capsys.readouterr().out
    assert "Input shape: (2, 1, 28, 28)" in out and f"Total parameters: {count_parameters(model):,}" in out


def test_mlp_parameter_counts_per_layer(capsys):
    rows = summary(MLP(784, hidden=(256,), out_features=10), (1, 1, 28, 28), verbose=False)
    assert [(r.kind, r.num_params) for r in rows] == [
        ("Flatten", 0),
        ("Linear", 784 * 256 + 256),
        ("ReLU", 0),
        ("Linear", 256 * 10 + 10),
    ]
    assert rows[0].output_shape == (1, 784)
    assert capsys.readouterr().out == ""  # verbose=False prints nothing


def test_a_single_layer_model_gets_one_row():
    rows = summary(nn.Linear(3, 4), (5, 3), verbose=False)
    assert rows == [LayerInfo("(model)", "Linear", (5, 4), 16)]


def test_reused_layer_gives_two_rows_but_counts_parameters_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 4)

        def forward(self, x):
            return self.layer(self.layer(x))

    rows = summary(Twice(), (1, 4), verbose=False)
    assert [(r.name, r.num_params) for r in rows] == [("layer", 20), ("layer", 0)]


def test_container_with_own_parameter_is_reported():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))
            self.body = nn.Linear(3, 3)

        def forward(self, x):
            return self.body(x) * self.scale

    rows = summary(Scaled(), (2, 3), verbose=False)
    assert [(r.name, r.num_params) for r in rows] == [("body", 12), ("(model)", 3)]


def test_tuple_outputs_and_integer_inputs():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(50, 8)
            self.lstm = nn.LSTM(8, 16, batch_first=True)

        def forward(self, tokens):
            out, _ = self.lstm(self.embedding(tokens))
            return out

    rows = summary(Tagger(), (2, 5), dtype=torch.long, verbose=False)
    assert rows[0].output_shape == (2, 5, 8)
    assert rows[1].output_shape == ((2, 5, 16), ((1, 2, 16), (1, 2, 16)))
    assert "[(2, 5, 16), [(1, 2, 16), (1, 2, 16)]]" in format_summary(rows)


def test_modes_buffers_and_hooks_are_restored():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))
    model.train()
    model[2].eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summary(model, (4, 3), verbose=False)
    assert model.training and model[1].training and not model[2].training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_unused_parameters_are_pointed_out(capsys):
    class Partly(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(2, 2), nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)

    summary(Partly(), (1, 2))
    assert "6 parameters belong to layers this forward pass did not use" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad", [(1, 28, 28, 0), 28, (1, -1, 28), (1.0, 1, 28, 28), (), "1,1,28,28", (True, 1)]
)
def test_malformed_input_shape_is_rejected(bad):
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
        summary(SmallCNN(28), bad, verbose=False)


def test_wrong_input_shape_names_the_failing_layer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with pytest.raises(
        ValueError,
        match=r"cannot process an input of shape \(1, 1, 8, 8\): it failed in layer "
        r"'1' \(Linear\) with RuntimeError",
    ):
        summary(model, (1, 1, 8, 8), verbose=False)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_failure_in_the_models_own_forward_is_reported():
    with pytest.raises(
        ValueError, match=r"failed in layer '\(model\)' \(SmallCNN\) with ValueError: SmallCNN expected"
    ):
        summary(SmallCNN(28), (2, 28, 28), verbose=False)


def test_bad_model_and_dtype():
    with pytest.raises(TypeError, match="model must be an instance of torch.nn.Module, got .*function"):
        summary(lambda x: x, (1, 2))
    with pytest.raises(ValueError, match="dtype must be a real torch dtype"):
        summary(nn.Linear(2, 2), (1, 2), dtype=torch.bool)
    with pytest.raises(ValueError, match="dtype must be a real torch dtype"):
        summary(nn.Linear(2, 2), (1, 2), dtype="float32")


def test_format_summary_rejects_foreign_rows():
    with pytest.raises(TypeError, match="rows must be the list of LayerInfo"):
        format_summary([("conv", "Conv2d", (1, 2), 3)])
