"""A resumed study must be the same experiment: what would change the meaning of a trial's score is
refused in one line; what changes only what a trial costs, or which configurations are proposed, may
differ from run to run, is stored with each trial (its `config`) and is shown in the summary and the report.

Same meaning: the space, the dataset (its name and source), the metric, and every setting that is not in
`COST_ONLY` (model and training settings the space does not search, the dataset's settings, param_matched
sizing). Cost only: `COST_ONLY`, and a change between `compare=joint` and `compare=balanced` (the sampler's
proposals, not the trials' meaning).
"""

from __future__ import annotations

import optuna
from omegaconf import DictConfig

from search.errors import UserError
from search.records import CONFIG, DATASET_CARD, METRIC, SPACE
from search.space import describe
from search.tasks import Task

COST_ONLY = ("search.", "storage.", "tracking.", "cluster.", "sampler.", "pruner.", "workers", "seed", "stage", "trial",
             "train.device",
             "train.devices", "train.threads", "train.amp", "train.rnn_kernel", "dataset.path")  # rnn_kernel: the same
# model through another kernel (search/kernels.py); each trial stores the one it trained with (auto pinned)
SHOWN = ("compare.strategy", "sampler.", "pruner.", "workers", "train.device", "train.devices", "train.threads",
         "train.amp")


def flat(data: dict, prefix: str = "") -> dict:
    """{"train": {"lr": 1}} -> {"train.lr": 1}; the space is left out (it is compared whole)."""
    out = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path == "space":
            continue
        if isinstance(value, dict) and value:
            out.update(flat(value, path + "."))
        else:
            out[path] = value
    return out


def _under(path: str, keys: tuple[str, ...]) -> bool:
    """Whether `path` is one of `keys` or lies below one ("pruner." covers "pruner._target_")."""
    return any(path == key.rstrip(".") or path.startswith(key if key.endswith(".") else key + ".") for key in keys)


def meaning_change(stored: dict, current: dict, searched: set[str]) -> str | None:
    """The first setting whose change would change what a trial's score means, as 'key=old, this run
    key=new', or None. Keys only one side has (settings added or removed by another release) are not
    compared."""
    old, new = flat(stored), flat(current)
    for path in sorted(old.keys() & new.keys()):
        if path in searched or _under(path, COST_ONLY) or old[path] == new[path]:
            continue
        if path == "compare.strategy" and "param_matched" not in (old[path], new[path]):
            continue  # joint <-> balanced: which configurations are proposed, not what a score means
        return f"{path}={old[path]}, this run {path}={new[path]}"
    return None


def check_same_experiment(study: optuna.Study, cfg: DictConfig, task: Task, config: dict) -> None:
    """Refuse, in one line with the new-name hint, a run that is not the experiment the study holds."""
    stored = study.user_attrs
    name = study.study_name
    fix = f"run with a new search.study_name (e.g. search.study_name={name}_2) or restore the old settings"
    if METRIC not in stored and study.get_trials(deepcopy=False):
        raise UserError(f"study '{name}' was not made by cellsearch (it has trials but no cellsearch attributes); "
                        f"choose another search.study_name (e.g. search.study_name={name}_cellsearch)")
    if SPACE in stored and stored[SPACE] != describe(cfg):
        raise UserError(f"study '{name}' already exists with a different search space; {fix}")
    card = stored.get(DATASET_CARD, {"name": task.name, "source": task.card["source"]})
    if card.get("name") != task.name or card.get("source") != task.card["source"]:
        raise UserError(f"study '{name}' was run on {card.get('name')} from {card.get('source')}, this run loads "
                        f"{task.name} from {task.card['source']}; {fix}")
    if METRIC in stored and stored[METRIC].get("name") != task.metric.name:
        raise UserError(f"study '{name}' optimises {stored.get(METRIC)}, this run {task.metric.name}; {fix}")
    change = meaning_change(stored.get(CONFIG, {}), config, set(cfg.space.keys()))
    if change is not None:
        raise UserError(f"study '{name}' was run with {change}: that changes what a trial's score means; {fix}")


def setting_changes(trials: list) -> list[str]:
    """The cost-only settings (`SHOWN`) that differ between the study's trials, one line each:
    'pruner._target_: MedianPruner (trials 0-11), SuccessiveHalvingPruner (12-19)'."""
    seen: dict[str, dict] = {}
    for t in sorted(trials, key=lambda t: t.number):
        for path, value in flat(t.user_attrs.get(CONFIG) or {}).items():
            if _under(path, SHOWN):
                seen.setdefault(path, {}).setdefault(str(value), []).append(t.number)
    return [f"{path}: " + ", ".join(f"{value} (trials {_ranges(numbers)})" for value, numbers in values.items())
            for path, values in seen.items() if len(values) > 1]


def _ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    spans = [[numbers[0], numbers[0]]]
    for number in numbers[1:]:
        if number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
