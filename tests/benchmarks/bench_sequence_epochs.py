"""Benchmark: seconds per epoch of a study's configurations, without running the study.

For `--configs` configurations drawn at random from the study's space, times `--batches` real training
batches (forward, backward, Adam step; the first two are warm-up) and extrapolates the fastest one's cost
per time step to the whole epoch's time steps, then times one validation pass. On a shared machine the
fastest batch is the closest to an idle one. Prints each configuration and the mean, and what the study's
budget (search.n_trials x train.max_epochs) comes to before pruning. Used to set the budgets of
conf/study/{chars,polyphonic,adding,copy}.yaml.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_sequence_epochs.py chars [--configs 6]
                                                                       [override ...]
"""

import argparse
import statistics
import time

import optuna
import torch
from hydra import compose, initialize_config_dir

from search import config_dir
from search.config import register_configs
from search.model import build_model, detach
from search.space import suggest
from search.study import load_task

register_configs()
parser = argparse.ArgumentParser()
parser.add_argument("study")
parser.add_argument("--configs", type=int, default=6)
parser.add_argument("--batches", type=int, default=14)
parser.add_argument("overrides", nargs="*")
args = parser.parse_args()
study_name, n_configs = args.study, args.configs
optuna.logging.set_verbosity(optuna.logging.WARNING)
with initialize_config_dir(config_dir(), version_base="1.3"):
    cfg = compose("config", overrides=[f"study={study_name}", *args.overrides])
task = load_task(cfg)
study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
epochs = []
for _ in range(n_configs):
    trial = study.ask()
    tc = suggest(trial, cfg)
    torch.manual_seed(0)
    model = build_model(tc.model, task)
    opt = torch.optim.Adam(model.parameters(), lr=tc.train.lr)
    seq_len, bs = tc.dataset.seq_len, tc.train.batch_size
    gen = torch.Generator().manual_seed(0)
    steps_epoch = sum(b.x.shape[1] for b in task.batches("train", seq_len, bs, True, gen))
    state = None
    model.train()
    it = task.batches("train", seq_len, bs, True, torch.Generator().manual_seed(1))
    per_step = []
    for k, batch in zip(range(args.batches), it):
        t = time.perf_counter()
        if batch.carry:
            out, state = model(batch.x, batch.lengths, detach(state), return_state=True)
        else:
            out = model(batch.x, batch.lengths)
        loss = task.loss(out, batch.y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if k >= 2:
            per_step.append((time.perf_counter() - t) / batch.x.shape[1])
    t = time.perf_counter()
    task.score(model, "val", seq_len, torch.device("cpu"))
    val = time.perf_counter() - t
    epoch = min(per_step) * steps_epoch + val
    epochs.append(epoch)
    print(f"{study_name} {dict(trial.params)} -> {epoch:.1f} s/epoch (val {val:.1f} s)", flush=True)
mean = statistics.mean(epochs)
trial_s = mean * cfg.train.max_epochs
print(f"{study_name}: mean {mean:.1f} s/epoch over {n_configs} sampled configs; x max_epochs {cfg.train.max_epochs} "
      f"= {trial_s:.0f} s a trial unpruned; search.n_trials={cfg.search.n_trials} -> at most "
      f"{cfg.search.n_trials * trial_s / 60:.1f} min ({900 / trial_s:.1f} unpruned trials in 15 min)")
