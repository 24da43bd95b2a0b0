import pytest
import torch

import helpers.checkpoint as ckpt
from helpers import MLP, SmallCNN
from helpers.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def trained_pair(seed=0):
    torch.manual_seed(seed)
    model = MLP(4, hidden=(8,), out_features=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = model(torch.randn(5, 4)).sum()
    loss.backward()
    optimizer.step()
    return model, optimizer


def test_round_trip_restores_model_optimizer_epoch_metrics(tmp_path):
    model, optimizer = trained_pair()
    path = save_checkpoint(tmp_path / "ckpt.pt", model, optimizer, epoch=3, metrics={"val_acc": 0.9})
    fresh, fresh_opt = trained_pair(seed=1)
    checkpoint = load_checkpoint(path, fresh, fresh_opt, map_location="cpu")
    assert checkpoint["epoch"] == 3 and checkpoint["metrics"] == {"val_acc": 0.9}
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    assert fresh_opt.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_checkpoint_is_plain_data_loadable_with_weights_only(tmp_path):
    model, optimizer = trained_pair()
    save_checkpoint(tmp_path / "c.pt", model, optimizer, epoch=1)
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "epoch", "metrics", "rng", "extra"} <= set(raw)


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model, optimizer = trained_pair()
    path = save_checkpoint(tmp_path / "c.pt", model, optimizer, epoch=1)
    before = path.read_bytes()

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, optimizer, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before  # old checkpoint intact
    assert load_checkpoint(path, model)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt", MLP(4, (8,), 3))


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or not a PyTorch checkpoint"):
        load_checkpoint(path, MLP(4, (8,), 3))


def test_not_a_checkpoint_dict(tmp_path):
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="expected a dict with a 'model' key"):
        load_checkpoint(tmp_path / "other.pt", MLP(4, (8,), 3))


def test_other_architecture_names_keys_and_shapes(tmp_path):
    model, _ = trained_pair()
    save_checkpoint(tmp_path / "mlp.pt", model)
    with pytest.raises(
        CheckpointError, match=r"shape mismatch net.1.weight: checkpoint \(8, 4\) vs model \(16, 4\)"
    ):
        load_checkpoint(tmp_path / "mlp.pt", MLP(4, hidden=(16,), out_features=3))
    with pytest.raises(CheckpointError, match=r"missing keys \['classifier.1.bias'"):
        load_checkpoint(tmp_path / "mlp.pt", SmallCNN(8))
    other = MLP(4, hidden=(16,), out_features=3)
    before = [p.clone() for p in other.parameters()]
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "mlp.pt", other)
    assert all(torch.equal(a, b) for a, b in zip(before, other.parameters()))  # model untouched


def test_optimizer_state_required_when_optimizer_given(tmp_path):
    model, optimizer = trained_pair()
    save_checkpoint(tmp_path / "m.pt", model)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(tmp_path / "m.pt", model, optimizer)


def test_save_rejects_non_module(tmp_path):
    with pytest.raises(TypeError, match="nn.Module"):
        save_checkpoint(tmp_path / "x.pt", {"not": "a model"})
