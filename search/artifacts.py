"""The best model of each cell type, kept as an Optuna artifact with the config that made it.

The store is a folder: `storage.artifacts`, or beside a file storage (`cellsearch.db` ->
`cellsearch-artifacts/`), or `./cellsearch-artifacts` for a server storage. optuna-dashboard lists the
artifacts of a trial when started with `--artifact-dir` on the same folder.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import optuna
import torch
from omegaconf import OmegaConf
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact
from optuna.trial import TrialState

from search.errors import write_error
from search.model import SequenceModel, build_model
from search.optuna_internals import artifact_file
from search.records import MODEL_ARTIFACT, best_per_cell, is_better, maximizes
from search.storage.urls import local_file
from search.tasks import Task
from search.workers.reaper import process_alive


def store_path(storage_cfg) -> Path:
    if storage_cfg.artifacts:
        return Path(storage_cfg.artifacts)
    url = storage_cfg.url
    local = local_file(url)
    if local:
        path = Path(local)
        return path.with_name(path.stem + "-artifacts")
    return Path("cellsearch-artifacts")


class AtomicFileSystemArtifactStore(FileSystemArtifactStore):
    """Optuna's folder store, but an artifact file appears whole or not at all: written beside its final name
    as `.partial-<pid>-<id>` and renamed into place. A process killed or a disk filled mid-write leaves no
    half-written model under an artifact's name (its partial file is removed by the next store opened)."""

    def __init__(self, base_path: str):
        super().__init__(base_path)
        self.folder = Path(base_path)
        for partial in self.folder.glob(".partial-*"):
            pid = partial.name.split("-")[1]
            if pid.isdigit() and not process_alive(int(pid)):
                if partial.is_dir():
                    shutil.rmtree(partial, ignore_errors=True)
                else:
                    partial.unlink(missing_ok=True)

    def write(self, artifact_id: str, content_body) -> None:
        final = Path(artifact_file(self, artifact_id))
        partial = final.with_name(f".partial-{os.getpid()}-{final.name}")
        try:
            with open(partial, "wb") as f:
                shutil.copyfileobj(content_body, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


def artifact_store(storage_cfg) -> AtomicFileSystemArtifactStore:
    """The store, checked writable now rather than after the first trial has trained."""
    path = store_path(storage_cfg)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path) as probe:
            probe.write(b"cellsearch")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as e:
        error = write_error(e, str(path), "storage.artifacts")
        if error is None:
            raise
        raise error from None
    return AtomicFileSystemArtifactStore(str(path))


def is_best_of_cell(study: optuna.Study, cell: str, value: float) -> bool:
    """Would a trial of `cell` that scores `value` be its cell's best (search/records.py)? Then its model is saved."""
    best = best_per_cell(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), maximizes(study)).get(cell)
    return best is None or is_better(value, best.value, maximizes(study))


def save_model(trial: optuna.Trial, model: torch.nn.Module, config: dict, store: AtomicFileSystemArtifactStore) -> str:
    """Upload the model's weights and config as an artifact of `trial`; return the artifact id. A disk that
    refuses the file (full, read-only) is a UserError naming the folder."""
    buffer = io.BytesIO()  # in memory first: torch.save on a full disk fails without saying why
    torch.save({"state_dict": model.state_dict(), "config": config}, buffer)
    base = str(store.folder)
    try:
        with tempfile.TemporaryDirectory(dir=base, prefix=f".partial-{os.getpid()}-") as folder:
            path = os.path.join(folder, f"trial{trial.number}-{config['model']['cell']}.pt")
            with open(path, "wb") as f:
                f.write(buffer.getbuffer())
            artifact_id = upload_artifact(artifact_store=store, file_path=path, study_or_trial=trial)
    except OSError as e:
        error = write_error(e, base, "storage.artifacts")
        if error is None:
            raise
        raise error from None
    trial.set_user_attr(MODEL_ARTIFACT, artifact_id)
    return artifact_id


def load_model(trial: optuna.trial.FrozenTrial, task: Task, store: FileSystemArtifactStore) -> SequenceModel:
    """The model saved for `trial`, ready to evaluate (weights loaded with weights_only=True)."""
    if MODEL_ARTIFACT not in trial.user_attrs:
        raise KeyError(f"trial {trial.number} has no saved model (only each cell's best so far is saved)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pt")
        download_artifact(artifact_store=store, file_path=path, artifact_id=trial.user_attrs[MODEL_ARTIFACT])
        saved = torch.load(path, weights_only=True)
    config = OmegaConf.create(saved["config"])
    model = build_model(config.model, task, config.get("train", {}).get("rnn_kernel", "auto"))
    model.load_state_dict(saved["state_dict"])
    return model.eval()
