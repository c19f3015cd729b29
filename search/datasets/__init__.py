"""Dataset loaders, one module a source, named as its `conf/dataset/<name>.yaml`. Each holds a config
dataclass, the schema of that YAML and the one place of its defaults, whose `load()` returns a Task
(search/tasks/). This table names them for Hydra's config store (search/config.py).

Helpers are private modules: _files (where a file is, decoding with the bad line named, the hub probe),
_splits, _text_encoding (tokens, vocabulary, the encoded text task), _labelled_text, _text_files and _text_hub
(text_csv's parts), _review_generator (the generated reviews), _long_memory (adding and copy), _sequence_files and
_sequence_arrays (the readers and the task of `sequences`, whose arrays `python` shares), _forecast (the
forecasting task and lag baselines that `airline` and `series_csv` share).

No module here imports torch (or a task kind) at its top: config.py reads these dataclasses for
`python -m search --help` and for config errors, which must not load torch (tests/test_config.py checks).
Each loader imports its task kind where it builds it.
"""

from search.datasets.adding import AddingConfig
from search.datasets.airline import AirlineConfig
from search.datasets.chars import CharsConfig
from search.datasets.copy import CopyConfig
from search.datasets.polyphonic import PolyphonicConfig
from search.datasets.python import PythonConfig
from search.datasets.rt_polarity import RtPolarityConfig
from search.datasets.sentiment_generated import SentimentGeneratedConfig
from search.datasets.sequences import SequencesConfig
from search.datasets.series_csv import SeriesCsvConfig
from search.datasets.text_csv import TextCsvConfig

DATASETS = {
    "rt_polarity": RtPolarityConfig,
    "airline": AirlineConfig,
    "chars": CharsConfig,
    "polyphonic": PolyphonicConfig,
    "adding": AddingConfig,
    "copy": CopyConfig,
    "series_csv": SeriesCsvConfig,
    "text_csv": TextCsvConfig,
    "sentiment_generated": SentimentGeneratedConfig,
    "sequences": SequencesConfig,
    "python": PythonConfig,
}
