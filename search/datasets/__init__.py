"""Dataset loaders. Each module holds a config dataclass (the schema of `conf/dataset/<name>.yaml`)
whose `load()` returns a Task; this table names them for Hydra's config store."""

from search.datasets.airline import AirlineConfig
from search.datasets.chars import CharsConfig
from search.datasets.polyphonic import PolyphonicConfig
from search.datasets.rt_polarity import RtPolarityConfig
from search.datasets.sentiment_generated import SentimentGeneratedConfig
from search.datasets.series_csv import SeriesCsvConfig
from search.datasets.synthetic import AddingConfig, CopyConfig
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
}
