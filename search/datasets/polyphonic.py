"""Polyphonic music as piano rolls (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012): Nottingham,
JSB Chorales, MuseData, Piano-midi.de, in either form the literature ships them:

- the `.mat` files of the TCN benchmarks (Bai, Kolter & Koltun 2018): cell arrays `traindata`,
  `validdata`, `testdata`, each sequence a T x 88 matrix of 0/1, column j = MIDI note 21 + j;
- the original pickles: a dict with `train`, `valid`, `test`, each a list of sequences, each sequence a
  list of time steps, each step a tuple of the MIDI note numbers (21..108) sounding then. They are read
  with a restricted unpickler that builds only plain lists, tuples, dicts and numbers (and numpy arrays):
  a pickle cannot run code here.

The published splits are used as they are. Next-step prediction with 88 independent sigmoids; metric: the
negative log-likelihood per time step in nats, summed over the keys, averaged over all predicted steps of
the split (the convention of Bai et al. 2018, Table 1). Baseline: each key on independently with its
training frequency (add-one smoothing), whatever came before.
"""

from __future__ import annotations

import io
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from search.datasets._files import data_file
from search.datasets._seq_len import refuse_seq_len
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.piano_roll import PianoRoll

log = logging.getLogger(__name__)
DEFAULT_FILE = Path("polyphonic") / "Nottingham.mat"
KEYS, LOWEST = 88, 21  # piano keys; MIDI note of the first column
MAT_KEYS = {"train": "traindata", "val": "validdata", "test": "testdata"}
PICKLE_KEYS = {"train": "train", "val": "valid", "test": "test"}


@dataclass
class PolyphonicConfig:
    name: str = "polyphonic"
    path: str | None = None  # a .mat or .pickle/.pkl piano-roll file; default:
    # $CELLSEARCH_DATA_DIR/polyphonic/Nottingham.mat
    seq_len: int | None = None  # not used: each tune is read whole; leave unset and out of the space

    def load(self) -> PianoRoll:
        refuse_seq_len(self.seq_len, "polyphonic", "every tune is read whole")
        path = self._path()
        if not path.stat().st_size:
            raise UserError(f"{path}: the file is empty; give a .mat or .pickle piano-roll file")
        if path.suffix.lower() == ".mat":
            rolls = read_mat(path)
        elif path.suffix.lower() in (".pickle", ".pkl"):
            rolls = read_pickle(path)
        else:
            raise UserError(f"{path}: unknown piano-roll format '{path.suffix}'; give a .mat (traindata/validdata/"
                            "testdata) or a .pickle/.pkl (train/valid/test) file")
        return piano_roll_task(self.name, rolls, f"file: {path.resolve()}")

    def _path(self) -> Path:
        return data_file(self.path, DEFAULT_FILE, "a .mat or .pickle piano-roll file",
                         "polyphonic: no piano-roll file; set dataset.path=FILE (.mat or .pickle) or "
                         f"CELLSEARCH_DATA_DIR (a folder with {DEFAULT_FILE})")


def read_mat(path: Path) -> dict[str, list[np.ndarray]]:
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as e:
        raise UserError(f"{path}: not a readable MATLAB file ({str(e).splitlines()[0]})") from None
    rolls = {}
    for split, key in MAT_KEYS.items():
        if key not in data:
            found = ", ".join(k for k in data if not k.startswith("__")) or "nothing"
            raise UserError(f"{path}: no '{key}' array (found {found}); expected cell arrays traindata, validdata, "
                            "testdata")
        cells = np.asarray(data[key])
        sequences = list(cells.ravel()) if cells.dtype == object else [cells]
        rolls[split] = []
        for i, seq in enumerate(sequences):
            seq = np.asarray(seq)
            where = f"{path}: {key} sequence {i + 1}"
            if seq.ndim != 2 or seq.shape[1] != KEYS:
                raise UserError(f"{where} has shape {seq.shape}, not T x {KEYS} (one column per piano key)")
            if not np.isin(seq, (0, 1)).all():
                row = int(np.flatnonzero(~np.isin(seq, (0, 1)).all(axis=1))[0])
                raise UserError(f"{where}, step {row + 1}: values other than 0 and 1")
            rolls[split].append(seq.astype(np.uint8))
    return rolls


class _PlainUnpickler(pickle.Unpickler):
    """Builds only builtins and numpy arrays: loading a pickle must not run code."""

    ALLOWED: ClassVar[set] = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
               ("__builtin__", "object"), ("builtins", "object")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to build {module}.{name}")
        return super().find_class(module, name)


def read_pickle(path: Path) -> dict[str, list[np.ndarray]]:
    try:
        data = _PlainUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except Exception as e:  # noqa: BLE001 - any failure to unpickle is a malformed file
        raise UserError(f"{path}: not a readable piano-roll pickle ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(data, dict) or not all(k in data for k in PICKLE_KEYS.values()):
        found = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{path}: expected a dict with train, valid and test, found {found}")
    rolls = {}
    for split, key in PICKLE_KEYS.items():
        rolls[split] = []
        for i, seq in enumerate(data[key]):
            roll = np.zeros((len(seq), KEYS), dtype=np.uint8)
            for t, notes in enumerate(seq):
                where = f"{path}: {key} sequence {i + 1}, step {t + 1}"
                if not isinstance(notes, (tuple, list, np.ndarray)):
                    raise UserError(f"{where}: {notes!r} is not a tuple of MIDI note numbers")
                for note in notes:
                    if isinstance(note, (float, np.floating)) and float(note).is_integer():
                        note = int(note)
                    if isinstance(note, bool) or not isinstance(note, (int, np.integer)) \
                            or not LOWEST <= note < LOWEST + KEYS:
                        raise UserError(f"{where}: note {note!r} is not a MIDI note number of the piano "
                                        f"({LOWEST}..{LOWEST + KEYS - 1})")
                    roll[t, int(note) - LOWEST] = 1
            rolls[split].append(roll)
    return rolls


def piano_roll_task(name: str, rolls: dict[str, list[np.ndarray]], source: str) -> PianoRoll:
    """Keep sequences with at least two steps (one to read, one to predict; shorter ones are counted)."""
    import torch  # here, not above: dataset schemas stay torch-free (search/datasets/__init__.py)

    from search.tasks import Metric
    from search.tasks.piano_roll import PianoRoll

    kept, skipped = {}, {}
    for split, sequences in rolls.items():
        kept[split] = [r for r in sequences if len(r) >= 2]
        skipped[split] = len(sequences) - len(kept[split])
        if not sequences:
            raise UserError(f"{source}: the {split} split has no sequences")
        if not kept[split]:
            raise UserError(f"{source}: every {split} sequence is shorter than 2 steps; nothing to predict")
        if skipped[split]:
            log.warning("%s: skipped %d %s sequence(s) shorter than 2 steps (nothing to predict)",
                        name, skipped[split], split)
    task = PianoRoll(
        name=name,
        metric=Metric("nll", "minimize", "nats per time step (summed over 88 keys)"),
        card={},
        n_features=KEYS,
        n_outputs=KEYS,
        rolls={s: [torch.from_numpy(r) for r in seqs] for s, seqs in kept.items()},
    )
    train = np.concatenate(kept["train"])
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)  # each key's frequency over the training steps
    task.baseline = {"name": "independent key frequencies of train (add-one)"}
    for split in ("val", "test"):
        targets = np.concatenate([r[1:] for r in kept[split]]).astype(float)
        nll = -(targets @ np.log(p) + (1 - targets) @ np.log1p(-p)).sum()
        task.baseline[split] = float(nll / len(targets))
    steps = {s: int(sum(len(r) - 1 for r in seqs)) for s, seqs in kept.items()}
    lengths = [len(r) for seqs in kept.values() for r in seqs]
    task.card = {
        "name": name,
        "source": source,
        "origin": "piano rolls (Boulanger-Lewandowski et al. 2012), MIDI notes 21..108",
        "size": sum(len(s) for s in kept.values()),
        "splits": {s: f"{len(seqs)} sequences, {steps[s]} predicted steps" for s, seqs in kept.items()},
        "split": "the file's published train/valid/test",
        "range": {"keys": KEYS, "lowest_midi_note": LOWEST, "steps_min": min(lengths), "steps_max": max(lengths),
                  "notes_per_step_train": float(train.sum(axis=1).mean())},
        "skipped_short_sequences": skipped,
        "metric_note": f"Bernoulli NLL summed over the {KEYS} keys, averaged over all predicted steps of a split "
                       "(Bai et al. 2018, Table 1: LSTM 3.29, GRU 3.46 on Nottingham test)",
    }
    return task
