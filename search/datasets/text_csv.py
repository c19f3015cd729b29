"""Text classification from your own file (CSV, TSV or JSON lines), or from a Hugging Face hub dataset by name.

A file: `dataset.path` with a text column and a label column (`dataset.text_column`, `dataset.label_column`;
0-based indexes with `dataset.header=false`). Labels may be words or numbers, two classes or more; the class
names are the distinct labels (in numeric order when all are whole numbers). Splits: given files
(`dataset.val_path`, `dataset.test_path`), a split column (`dataset.split_column`: train / val / test), or,
for whatever is not given, a seeded stratified part of the training rows (`dataset.split_seed`).

The hub: `dataset.hub=stanfordnlp/imdb` or `stanfordnlp/sst2` (columns and splits known, below), or any
dataset with a text and a label column. SST-2 keeps its test labels hidden (-1): its validation split serves
as test and validation is carved from train. IMDB has no validation split: it is carved from train; its
unlabelled `unsupervised` split is not used. `dataset.hub_dir` reads a local copy of the hub repository
instead (for machines without the network: `huggingface-cli download stanfordnlp/imdb --repo-type dataset
--local-dir DIR`).

Rows with blank text are skipped, counted (a warning and the card say how many); everything else that is
wrong stops the run with one line naming the file and the line. Vocabulary and class majority are fitted
on the training split only. The parts: _text_files.py (formats, CSV, JSON lines), _text_hub.py (hub layouts),
_labelled_text.py (labels, splits given or carved, the task).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.datasets._labelled_text import Rows, labelled_text_task
from search.datasets._text_files import read_rows
from search.datasets._text_hub import hub_rows, load_hub
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.text_classification import TextClassification


@dataclass
class TextCsvConfig:
    name: str = "text_csv"
    path: str | None = None  # CSV, TSV or JSON-lines file (all rows, or the training rows with val/test_path)
    format: str = "auto"  # auto (from the extension: .csv, .tsv/.tab, .jsonl/.ndjson/.json) | csv | tsv | jsonl
    text_column: str = "text"  # a column name; with header=false a 0-based index
    label_column: str = "label"  # words or numbers, two classes or more
    delimiter: str | None = None  # null: "," for csv, a tab for tsv (tsv fields are never quoted)
    encoding: str = "utf-8"
    header: bool = True  # false: the first row is data, columns are given by index
    val_path: str | None = None  # given splits, same format and columns; a split not given is carved
    test_path: str | None = None  # from the training rows (stratified, split_seed)
    split_column: str | None = None  # a column saying train / val / test (validation, dev also accepted)
    hub: str | None = None  # a Hugging Face dataset: stanfordnlp/imdb, stanfordnlp/sst2, or any text + label set
    hub_dir: str | None = None  # a local copy of that hub repository, read instead of downloading it
    val_fraction: float = 0.1  # of each class, for carved splits
    test_fraction: float = 0.1
    split_seed: int = 0  # fixes carved splits; apart from `seed`, so every trial shares them
    min_freq: int = 2  # words seen fewer times in train map to <unk>
    max_tokens: int | None = 512  # texts are cut to this many tokens when loaded (memory); null: never
    seq_len: int = 128  # truncation length in tokens at batch time; usually searched (space/text_csv)

    def load(self) -> TextClassification:
        if self.hub:
            if self.path:
                raise UserError(f"dataset.path={self.path} and dataset.hub={self.hub}: give one of them")
            return self.from_dataset_dict(*load_hub(self))
        if not self.path:
            raise UserError("text_csv: no data; set dataset.path=FILE (csv, tsv or jsonl with a text and a label "
                            "column) or dataset.hub=stanfordnlp/imdb (or stanfordnlp/sst2)")
        return self._from_files()

    def _from_files(self) -> TextClassification:
        path = Path(self.path).expanduser()
        given = {"val": self.val_path, "test": self.test_path}
        if self.split_column is not None and any(given.values()):
            raise UserError("dataset.split_column and dataset.val_path/test_path both give splits; use one")
        parts: dict[str, Rows] = {}
        if self.split_column is not None:
            parts = read_rows(self, path, self.split_column)
        else:
            parts["train"] = read_rows(self, path)["all"]
            for split, other in given.items():
                if other:
                    parts[split] = read_rows(self, Path(other).expanduser())["all"]
        files = [str(Path(p).expanduser().resolve()) for p in (self.path, self.val_path, self.test_path) if p]
        card = {"source": "file: " + ", ".join(files), "origin": path.name,
                "columns": {"text": self.text_column, "label": self.label_column}}
        return labelled_text_task(self, parts, None, card, given_note="the split column"
                                  if self.split_column is not None else "the given files")

    def from_dataset_dict(self, data, name: str, source: str) -> TextClassification:
        """The task from a loaded `datasets.DatasetDict`: everything after the download (columns, labels,
        which split serves as which). `name` picks a known layout (search/datasets/_text_hub.py)."""
        parts, names, card = hub_rows(self, data, name, source)
        return labelled_text_task(self, parts, names, card, given_note="the hub's splits")
