"""Benchmark: storage overhead per trial with many concurrent workers and a no-op objective.

Each worker process opens the storage as cellsearch does (search.storage.open_storage: a small pool per
process, heartbeats on RDB) and runs cellsearch's admission loop (search.workers.run_trials, with the
PostgreSQL advisory lock that keeps the budget exact) on an objective that returns at once, so every
millisecond measured is storage and bookkeeping. Workers start together after a barrier; imports and
connection set-up are not timed.

    python tests/benchmarks/bench_storage.py [--url postgresql://postgres@127.0.0.1:5432/test]
                                             [--workers 32] [--trials 640]
Creates and drops a database of its own on that server.
"""

import argparse
import multiprocessing as mp
import time
import uuid

import optuna
import psycopg
from omegaconf import OmegaConf

from search.config import StorageConfig
from search.storage.open import open_storage
from search.workers.admission import gate_for, run_trials


def noop(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


def worker(url: str, name: str, budget: int, barrier, done) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(OmegaConf.structured(StorageConfig(url=url)))
    study = optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler())
    gate = gate_for(study, None)
    barrier.wait()
    run_trials(study, noop, budget, None, [], gate, poll=0.01)
    done.put(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--trials", type=int, default=640)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = f"cellsearch_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    url = args.url.rsplit("/", 1)[0] + f"/{db}"
    try:
        name = "noop"
        optuna.create_study(study_name=name, storage=open_storage(OmegaConf.structured(StorageConfig(url=url))))
        ctx = mp.get_context("spawn")
        barrier, done = ctx.Barrier(args.workers + 1), ctx.Queue()
        procs = [ctx.Process(target=worker, args=(url, name, args.trials, barrier, done)) for _ in range(args.workers)]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.perf_counter()
        end = max(done.get() for _ in procs)
        for p in procs:
            p.join()
        wall = end - start
        study = optuna.load_study(study_name=name, storage=url)
        finished = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        print(f"PostgreSQL, {args.workers} concurrent workers, no-op objective: {finished} trials "
              f"(budget {args.trials}) in {wall:.2f} s")
        print(f"study throughput: {1000 * wall / finished:.1f} ms of wall time per trial "
              f"({finished / wall:.0f} trials/s); each worker: {1000 * wall * args.workers / finished:.0f} ms per "
              f"trial (target: under 20 ms per trial)")
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
