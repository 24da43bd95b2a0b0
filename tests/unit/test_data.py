import pytest
import torch

from helpers.data import FASHION_CLASSES, ImageData, load_digits_data, load_image_data, make_loaders


def test_digits_are_real_images_with_a_seeded_split():
    data = load_digits_data()
    assert data.name == "digits" and data.image_size == 8 and data.classes == [str(d) for d in range(10)]
    assert len(data.train) + len(data.val) + len(data.test) == 1797
    x, y = data.train[0]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert y.dtype == torch.int64 and 0 <= y < 10
    again = load_digits_data()
    assert torch.equal(data.test[5][0], again.test[5][0])  # same split on every run
    labels = torch.stack([data.train[i][1] for i in range(len(data.train))])
    assert set(labels.tolist()) == set(range(10))  # all classes present: real data, not noise


def test_offline_fallback_prints_which_data(capsys):
    data = load_image_data(offline=True)
    assert isinstance(data, ImageData) and data.name == "digits"
    assert "offline fallback" in capsys.readouterr().out


def test_failed_download_falls_back_with_a_note(monkeypatch, capsys, tmp_path):
    import helpers.data as data_module

    def no_network(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(data_module, "load_fashion_mnist", no_network)
    data = load_image_data(root=tmp_path, offline=False)
    out = capsys.readouterr().out
    assert data.name == "digits"
    assert "FashionMNIST is not available here (RuntimeError: Error downloading" in out


def test_fashion_classes():
    assert len(FASHION_CLASSES) == 10 and FASHION_CLASSES[9] == "Ankle boot"


def test_make_loaders_shapes_and_determinism():
    data = load_digits_data()
    train_loader, val_loader, test_loader = make_loaders(data, batch_size=32, seed=1)
    x, y = next(iter(train_loader))
    assert x.shape == (32, 1, 8, 8) and y.shape == (32,)
    x2, _ = next(iter(make_loaders(data, batch_size=32, seed=1)[0]))
    assert torch.equal(x, x2)
    assert train_loader.num_workers == 0


@pytest.mark.parametrize(
    "kwargs, match", [(dict(batch_size=0), "batch_size"), (dict(num_workers=-1), "num_workers")]
)
def test_make_loaders_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_loaders(load_digits_data(), **kwargs)
