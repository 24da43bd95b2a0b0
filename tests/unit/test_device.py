import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from helpers import describe_device, get_device, seed_everything


def test_auto_device_is_available_one():
    device = get_device()
    assert device.type in {"cpu", "cuda", "mps"}
    if torch.cuda.is_available():
        assert device.type == "cuda"
    elif not torch.backends.mps.is_available():
        assert device.type == "cpu"


def test_explicit_cpu():
    assert get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "tpu0", "", "cuda:x"])
def test_unknown_device_string_is_rejected(bad):
    with pytest.raises(ValueError, match="unknown device"):
        get_device(bad)


def test_non_string_device_is_rejected():
    with pytest.raises(TypeError, match="device string"):
        get_device(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
def test_unavailable_cuda_says_so():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")


def test_seed_everything_makes_all_three_generators_repeat():
    seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(123)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1] and torch.equal(first[2], second[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_non_negative_int(bad):
    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(bad)


def test_seed_everything_repeats_a_computation_on_random_data():
    def run():
        seed_everything(7)
        weight, data = torch.randn(16, 8), torch.randn(32, 16)
        return torch.softmax(data @ weight, dim=1)

    assert torch.equal(run(), run())


@pytest.fixture
def restore_determinism(monkeypatch):
    """Let a test switch the global determinism flags, then put PyTorch's defaults back."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    seed_everything(0, deterministic=False)


def test_deterministic_sets_flags_and_cublas_variable(restore_determinism):
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_deterministic_keeps_a_cublas_setting_already_there(restore_determinism, monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    seed_everything(0, deterministic=True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_default_turns_deterministic_algorithms_off_again(restore_determinism):
    seed_everything(0, deterministic=True)
    seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.deterministic


def test_deterministic_mode_is_observable_on_the_cpu(restore_determinism):
    # in deterministic mode PyTorch fills uninitialised memory with NaN instead of leftovers
    seed_everything(0, deterministic=True)
    assert torch.isnan(torch.empty(5)).all()


def test_default_leaves_cudnn_benchmark_alone(restore_determinism):
    torch.backends.cudnn.benchmark = True
    seed_everything(0)
    assert torch.backends.cudnn.benchmark
    seed_everything(0, deterministic=True)
    assert not torch.backends.cudnn.benchmark


def test_deterministic_warns_when_cuda_has_already_started(restore_determinism, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.warns(RuntimeWarning, match="before the first CUDA operation"):
        seed_everything(0, deterministic=True)


def test_deterministic_is_quiet_when_cublas_is_configured(restore_determinism, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seed_everything(0, deterministic=True)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_deterministic_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="deterministic must be True or False"):
        seed_everything(0, deterministic=bad)


@pytest.mark.slow  # starts a fresh Python: seconds
def test_seed_everything_does_not_pretend_to_set_pythonhashseed():
    code = "import os, helpers; helpers.seed_everything(5); print(os.environ.get('PYTHONHASHSEED'))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_deterministic_same_numbers_on_cuda(restore_determinism):
    def run():
        seed_everything(3, deterministic=True)
        data = torch.randn(4096, 64).cuda()
        index = torch.randint(0, 8, (4096,)).cuda()
        return torch.zeros(8, 64, device="cuda").index_add_(0, index, data)

    assert torch.equal(run(), run())


def test_describe_device_cpu():
    assert describe_device(torch.device("cpu")).startswith("cpu (")
