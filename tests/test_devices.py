"""The GPU each of workers=N takes (worker i: GPU i mod G), checked on the CPU with a stated GPU count, and the
one-line errors for GPUs this machine does not have."""

from __future__ import annotations

import pytest

from search.devices import worker_device
from search.errors import UserError
from support import run_search


def test_workers_spread_over_every_visible_gpu_and_share_them_when_more():
    assert [worker_device("auto", i, None, visible=2) for i in range(5)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1",
                                                                             "cuda:0"]
    assert [worker_device("cuda", i, None, visible=4) for i in range(4)] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]


def test_train_devices_chooses_the_gpus():
    assert [worker_device("auto", i, [2, 3], visible=4) for i in range(4)] == ["cuda:2", "cuda:3", "cuda:2", "cuda:3"]


def test_a_named_device_is_kept_for_every_worker():
    assert {worker_device("cuda:1", i, None, visible=2) for i in range(3)} == {"cuda:1"}
    assert {worker_device(name, 3, None, visible=0) for name in ("cpu", "auto")} == {"cpu", "auto"}
    assert worker_device("cpu", 3, None, visible=2) == "cpu"


def test_gpus_that_are_not_there_are_refused():
    with pytest.raises(UserError, match=r"GPU\(s\) \[5\] not visible"):
        worker_device("auto", 0, [0, 5], visible=2)
    with pytest.raises(UserError, match="needs CUDA GPUs"):
        worker_device("auto", 0, [0], visible=0)


@pytest.mark.slow
def test_train_devices_without_gpus_stops_before_the_storage_in_one_line(tmp_path):
    run = run_search(tmp_path, "study=airline", "workers=2", "train.devices=[0]", "search.n_trials=2")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("error: train.devices=[0] needs CUDA GPUs")
    assert not list(tmp_path.iterdir())
