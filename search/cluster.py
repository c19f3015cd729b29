"""`cluster=slurm`: a study as a Slurm job array, submitted from a login node.

Every array task runs the same `python -m search ...` (this command's overrides, with `cluster=local`) as a
worker of one study on a database server, so the budget stays exact across tasks (the PostgreSQL admission
lock, search/workers/admission.py). A preempted or failed task's running trial loses its heartbeat and is failed
and retried once by the next admission (storage.grace_period); `--requeue` starts a preempted task again, and it
resumes the study. After the array, one job (`--dependency=afterany`) re-evaluates each cell's best and prints
the verdict. The storage URL reaches the tasks through the environment (sbatch exports it), never the script.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from omegaconf import DictConfig

from search.errors import UserError
from search.storage.open import open_storage
from search.storage.urls import hide_secrets, local_file, mask

URL_VARIABLE = "CELLSEARCH_STORAGE_URL"
_REPLACED = ("cluster", "storage.url", "workers", "stage", "search.reeval_seeds", "train.threads", "hydra")


def check_storage(url: str) -> None:
    """Array tasks on many machines need a database server with heartbeats (PostgreSQL, MySQL)."""
    if local_file(url) is not None or url.startswith(("redis", "unix://")):
        raise UserError(f"cluster=slurm needs a database server that every node reaches, with heartbeats for "
                        f"preempted tasks: storage=postgres storage.url=postgresql://user@host/db, not "
                        f"storage.url={mask(url)} (files on shared disks break their locks; Redis has no heartbeats)")


def _kept(overrides: list[str]) -> list[str]:
    """The command's overrides that every task repeats as given (the ones the tasks set themselves dropped)."""
    def replaced(override: str) -> bool:
        key = override.lstrip("+~").split("=", 1)[0]
        return any(key == k or key.startswith(k + ".") for k in _REPLACED)
    return [o for o in overrides if not replaced(o)]


def _header(cfg: DictConfig, name: str, array: bool) -> list[str]:
    c = cfg.cluster
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", "#SBATCH --ntasks=1",
             f"#SBATCH --cpus-per-task={c.cpus_per_task}",
             f"#SBATCH --output={Path(c.logs).resolve()}/%x-%A_%a.out", "#SBATCH --open-mode=append",
             f"#SBATCH --chdir={Path.cwd()}"]
    if array:
        lines += [f"#SBATCH --array=0-{c.tasks - 1}", "#SBATCH --requeue"]
    if c.gpus_per_task:
        lines.append(f"#SBATCH --gres=gpu:{c.gpus_per_task}")
    for option in ("time", "partition", "mem", "account"):
        if c[option]:
            lines.append(f"#SBATCH --{option}={c[option]}")
    lines += [f"#SBATCH {arg}" for arg in c.sbatch_args]
    return lines


def file_stem(study_name: str) -> str:
    """The study's name as one file name (and Slurm job name): any character but letters, digits, `_`, `.` and
    `-` becomes `_`, so `a/b` or `../x` stays a file inside cluster.logs."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", study_name)


def scripts(cfg: DictConfig, overrides: list[str]) -> dict[str, str]:
    """{"search": the array script, "reeval": the re-evaluation script (absent with search.reeval_seeds=0)}."""
    c = cfg.cluster
    name = "cellsearch-" + file_stem(cfg.search.study_name)
    command = [sys.executable, "-m", "search", *_kept(overrides), "cluster=local"]
    body = ["set -euo pipefail",
            f': "${{{URL_VARIABLE}:?submit with python -m search ... cluster=slurm, which exports it}}"']
    storage = f'"storage.url=${{{URL_VARIABLE}}}"'
    threads = max(1, c.cpus_per_task // c.workers_per_task)
    search = shlex.join([*command, f"workers={c.workers_per_task}", f"train.threads={threads}",
                         "search.reeval_seeds=0"])
    out = {"search": "\n".join(_header(cfg, name, True) + body + [f"exec {search} {storage}", ""])}
    if cfg.search.reeval_seeds != 0:
        reeval = shlex.join([*command, "stage=reeval", f"search.reeval_seeds={cfg.search.reeval_seeds}",
                                       f"train.threads={c.cpus_per_task}"])
        out["reeval"] = "\n".join(_header(cfg, name + "-reeval", False) + body + [f"exec {reeval} {storage}", ""])
    return out


def _sbatch(args: list[str], url: str) -> str:
    """Submit; return the job id."""
    if shutil.which("sbatch") is None:
        raise UserError("cluster=slurm needs Slurm's sbatch on PATH: run from a login node of the cluster, or "
                        "cluster.submit=false to write the scripts only")
    env = {**os.environ, URL_VARIABLE: url}
    done = subprocess.run(["sbatch", "--parsable", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[:300] or f"exit code {done.returncode}"
        raise UserError(f"sbatch refused the job: {hide_secrets(reason, url)}; check the cluster.* settings "
                        "(partition, time, mem, account, sbatch_args)")
    return done.stdout.strip().split(";")[0]


def submit(cfg: DictConfig, overrides: list[str]) -> dict[str, str]:
    """Check that the storage is a server and opens from here (its tables then exist before the tasks start
    together), write the job scripts under cluster.logs and submit them (unless cluster.submit=false); return the
    job ids."""
    check_storage(cfg.storage.url)
    open_storage(cfg.storage)
    folder = Path(cfg.cluster.logs)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stage, text in scripts(cfg, overrides).items():
        paths[stage] = folder / f"{file_stem(cfg.search.study_name)}.{stage}.sbatch"
        paths[stage].write_text(text)
    if not cfg.cluster.submit:
        print(f"wrote {', '.join(map(str, paths.values()))}; submit with {URL_VARIABLE}=<storage url> "
              f"sbatch {paths['search']}" + (f", then sbatch --dependency=afterany:<job> {paths['reeval']}"
                                           if "reeval" in paths else ""))
        return {}
    jobs = {"search": _sbatch([str(paths["search"])], cfg.storage.url)}
    if "reeval" in paths:
        jobs["reeval"] = _sbatch([f"--dependency=afterany:{jobs['search']}", str(paths["reeval"])], cfg.storage.url)
    where = mask(cfg.storage.url)
    print(f"submitted job array {jobs['search']} ({cfg.cluster.tasks} tasks) for study '{cfg.search.study_name}' in "
          f"{where}" + (f", and re-evaluation job {jobs['reeval']} after it" if "reeval" in jobs else ""))
    print(f"watch: squeue -j {','.join(jobs.values())}; logs in {folder.resolve()}; optuna-dashboard {where}")
    print(f"report when done: python -m reports storage.url={where}")
    return jobs
