"""The best model of each cell type, kept as an Optuna artifact with the config that made it.

The store is a folder: `storage.artifacts`, or beside a file storage (`cellsearch.db` ->
`cellsearch-artifacts/`), or `./cellsearch-artifacts` for a server storage. optuna-dashboard lists the
artifacts of a trial when started with `--artifact-dir` on the same folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import optuna
import torch
from omegaconf import OmegaConf
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact
from optuna.trial import TrialState

from search.compare import cell_of
from search.model import SequenceModel, build_model
from search.storage import journal_path
from search.tasks import Task

ATTR = "model_artifact"


def store_path(storage_cfg) -> Path:
    if storage_cfg.artifacts:
        return Path(storage_cfg.artifacts)
    url = storage_cfg.url
    local = journal_path(url) or (url[len("sqlite:///"):] if url.startswith("sqlite:///") else None)
    if local and local != ":memory:":
        path = Path(local)
        return path.with_name(path.stem + "-artifacts")
    return Path("cellsearch-artifacts")


def artifact_store(storage_cfg) -> FileSystemArtifactStore:
    path = store_path(storage_cfg)
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))


def is_best_of_cell(study: optuna.Study, cell: str, value: float) -> bool:
    done = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if cell_of(t) == cell]
    if not done:
        return True
    best = max(done) if study.direction == optuna.study.StudyDirection.MAXIMIZE else min(done)
    return value > best if study.direction == optuna.study.StudyDirection.MAXIMIZE else value < best


def save_model(trial: optuna.Trial, model: torch.nn.Module, config: dict, store: FileSystemArtifactStore) -> str:
    """Upload the model's weights and config as an artifact of `trial`; return the artifact id."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"trial{trial.number}-{config['model']['cell']}.pt")
        torch.save({"state_dict": model.state_dict(), "config": config}, path)
        artifact_id = upload_artifact(artifact_store=store, file_path=path, study_or_trial=trial)
    trial.set_user_attr(ATTR, artifact_id)
    return artifact_id


def load_model(trial: optuna.trial.FrozenTrial, task: Task, store: FileSystemArtifactStore) -> SequenceModel:
    """The model saved for `trial`, ready to evaluate (weights loaded with weights_only=True)."""
    if ATTR not in trial.user_attrs:
        raise KeyError(f"trial {trial.number} has no saved model (only each cell's best so far is saved)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pt")
        download_artifact(artifact_store=store, file_path=path, artifact_id=trial.user_attrs[ATTR])
        saved = torch.load(path, weights_only=True)
    model = build_model(OmegaConf.create(saved["config"]).model, task)
    model.load_state_dict(saved["state_dict"])
    return model.eval()
