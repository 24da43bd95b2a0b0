import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from helpers.data import data_dir
from helpers.demos import pipeline
from helpers.demos.pipeline import (
    CsvStream,
    Throughput,
    export_wine_csv,
    measure_throughput,
    wine_csv,
    write_image_folder,
)

# ---- the data folder and the wine file ------------------------------------------------------------


def test_data_dir_is_the_books_data_folder():
    folder = data_dir()
    assert (folder / "README.md").is_file() and folder.name == "data"


def test_shipped_wine_csv_is_exactly_scikit_learns_data():
    from sklearn.datasets import load_wine

    path = wine_csv()
    assert path == data_dir() / "wine.csv"
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    bunch = load_wine()
    assert table.shape == (178, 14)
    assert np.array_equal(table[:, :-1], bunch.data) and np.array_equal(table[:, -1], bunch.target)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(bunch.feature_names) + ["cultivar"]


def test_export_reproduces_the_shipped_file(tmp_path):
    fresh = export_wine_csv(tmp_path / "sub" / "wine.csv")
    assert fresh.read_bytes() == wine_csv().read_bytes()


def test_wine_csv_rewrites_a_missing_file_with_a_note(tmp_path, capsys):
    path = wine_csv(tmp_path)
    assert path.is_file() and path.read_bytes() == wine_csv().read_bytes()
    assert "was missing" in capsys.readouterr().out
    wine_csv(tmp_path)  # second call: file exists, no note
    assert capsys.readouterr().out == ""


def test_export_rejects_a_name_that_is_not_csv(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv"):
        export_wine_csv(tmp_path / "wine.txt")


# ---- CsvStream --------------------------------------------------------------------------------------


def test_csv_stream_yields_every_row_in_file_order():
    rows = list(CsvStream(wine_csv()))
    table = np.loadtxt(wine_csv(), delimiter=",", skiprows=1, dtype=np.float32)
    assert len(rows) == 178
    x, y = rows[0]
    assert x.shape == (13,) and x.dtype == torch.float32 and y.dtype == torch.int64 and y.dim() == 0
    assert torch.equal(torch.stack([r[0] for r in rows]), torch.from_numpy(table[:, :-1]))
    assert [int(r[1]) for r in rows] == table[:, -1].astype(int).tolist()


def test_csv_stream_batches_through_a_dataloader():
    batches = list(DataLoader(CsvStream(wine_csv()), batch_size=50))
    assert [len(y) for _, y in batches] == [50, 50, 50, 28]


@pytest.mark.parametrize("shard, expected_copies", [(True, 1), (False, 2)])
def test_csv_stream_sharding_across_two_workers(tmp_path, shard, expected_copies):
    path = tmp_path / "small.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(10)))
    loader = DataLoader(CsvStream(path, shard=shard), batch_size=3, num_workers=2)
    seen = sorted(int(v) for x, _ in loader for v in x[:, 0])
    assert seen == sorted(list(range(10)) * expected_copies)


def test_csv_stream_rejects_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="existing CSV"):
        CsvStream(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("a,b,label\n1,2,0\n1,2\n", "line 3: expected 3 values"),
        ("a,b,label\n1,x,0\n", "line 2: every value must be a number"),
        ("a,b,label\n1,2,0.5\n", "integer label"),
    ],
)
def test_csv_stream_reports_bad_rows_with_their_line(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        list(CsvStream(path))


# ---- write_image_folder -----------------------------------------------------------------------------


def test_write_image_folder_round_trips_through_image_folder(tmp_path):
    from PIL import Image
    from torchvision.datasets import ImageFolder

    torch.manual_seed(0)
    images = torch.randint(0, 256, (5, 6, 7), dtype=torch.uint8)
    labels = [1, 0, 1, 1, 0]
    root = write_image_folder(images, labels, ["cat", "ant"], tmp_path / "tree")
    assert sorted(p.name for p in (root / "cat").iterdir()) == ["1.png", "4.png"]
    dataset = ImageFolder(root, loader=lambda p: Image.open(p).convert("L"))
    assert dataset.classes == ["ant", "cat"] and len(dataset) == 5  # sorted folder names
    for path, target in dataset.samples:
        index = int(path.rsplit("/", 1)[-1].split(".")[0])
        assert torch.equal(torch.from_numpy(np.array(Image.open(path))), images[index])
        assert dataset.classes[target] == ["cat", "ant"][labels[index]]
    write_image_folder(images, labels, ["cat", "ant"], root)  # twice: same tree
    assert len(ImageFolder(root)) == 5


def test_write_image_folder_writes_rgb(tmp_path):
    from PIL import Image

    images = torch.randint(0, 256, (2, 3, 4, 5), dtype=torch.uint8)
    root = write_image_folder(images, [0, 0], ["x"], tmp_path)
    back = np.array(Image.open(root / "x" / "1.png"))
    assert back.shape == (4, 5, 3) and np.array_equal(back, images[1].permute(1, 2, 0).numpy())


@pytest.mark.parametrize(
    "images, labels, classes, error, match",
    [
        (torch.zeros(2, 4, 4), [0, 0], ["a"], TypeError, "uint8"),
        ([[0]], [0], ["a"], TypeError, "uint8"),
        (torch.zeros(2, 2, 4, 4, dtype=torch.uint8), [0, 0], ["a"], ValueError, "C in"),
        (torch.zeros(2, 4, 4, dtype=torch.uint8), [0], ["a"], ValueError, "1 labels for 2 images"),
        (torch.zeros(2, 4, 4, dtype=torch.uint8), [0, 2], ["a", "b"], ValueError, r"\[0, 1\]"),
        (torch.zeros(1, 4, 4, dtype=torch.uint8), [0], ["a/b"], ValueError, "folder names"),
        (torch.zeros(1, 4, 4, dtype=torch.uint8), [0], [""], ValueError, "folder names"),
    ],
)
def test_write_image_folder_rejects_bad_input(tmp_path, images, labels, classes, error, match):
    with pytest.raises(error, match=match):
        write_image_folder(images, labels, classes, tmp_path)


# ---- measure_throughput -----------------------------------------------------------------------------


def test_measure_throughput_counts_batches_and_samples():
    loader = DataLoader(TensorDataset(torch.zeros(10, 2)), batch_size=4)  # batches of 4, 4, 2
    result = measure_throughput(loader, seconds=60, max_batches=5)  # crosses into a 2nd epoch
    assert isinstance(result, Throughput)
    assert result.batches == 5 and result.samples == 4 + 4 + 2 + 4 + 4
    assert result.seconds > 0 and result.samples_per_s == pytest.approx(result.samples / result.seconds)
    assert result.batches_per_s == pytest.approx(5 / result.seconds)


def test_measure_throughput_stops_after_the_time_budget():
    loader = DataLoader(TensorDataset(torch.zeros(100, 2)), batch_size=1)
    result = measure_throughput(loader, seconds=0.05)
    assert 0.05 <= result.seconds < 5 and result.batches >= 1


def test_measure_throughput_understands_dict_batches():
    result = measure_throughput([{"x": torch.zeros(3, 2)}], seconds=60, max_batches=1)
    assert result.samples == 3


@pytest.mark.parametrize(
    "loader, kwargs, error, match",
    [
        (DataLoader(TensorDataset(torch.zeros(2))), dict(seconds=0), ValueError, "positive"),
        (DataLoader(TensorDataset(torch.zeros(2))), dict(seconds=True), ValueError, "positive"),
        (DataLoader(TensorDataset(torch.zeros(2))), dict(max_batches=0), ValueError, "max_batches"),
        (42, {}, TypeError, "iterable"),
        ([], {}, ValueError, "no batches"),
        ([object()], {}, TypeError, "cannot count"),
    ],
)
def test_measure_throughput_rejects_bad_input(loader, kwargs, error, match):
    with pytest.raises(error, match=match):
        measure_throughput(loader, **kwargs)


def test_seed_worker_makes_numpy_draws_repeatable_and_different_per_worker():
    def draws(seed):
        loader = DataLoader(
            pipeline.NumpyNoise(8),
            batch_size=4,
            num_workers=2,
            worker_init_fn=pipeline.seed_worker,
            generator=torch.Generator().manual_seed(seed),
        )
        return list(loader)

    first, again, other = draws(0), draws(0), draws(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], first[1])
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("n", [0, -1, 2.5, "3"])
def test_numpy_noise_rejects_a_bad_length(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        pipeline.NumpyNoise(n)
