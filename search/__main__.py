"""`python -m search [overrides]`: run the study that the Hydra config composes (see conf/)."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from search import config_dir, interrupt
from search.cli import check_overrides
from search.config import check_values, register_configs
from search.errors import UserError, write_error

register_configs()


@hydra.main(config_path=config_dir(), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    try:
        check_values(cfg)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    import optuna  # torch and optuna load here, after the config is known to be good (tests/test_config.py)
    import sqlalchemy.exc

    from search.study import run

    interrupt.install()  # Ctrl-C and SIGTERM end the running trial at the next safe point
    try:
        run(cfg)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except (OSError, sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError,
            AssertionError) as e:  # Optuna asserts "Should not reach." when a store fails: the context says why
        error = write_error(e, cfg.storage.url)  # a disk that refused a write: full, read-only
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the running trial is recorded as failed; run the same command to resume "
              f"study '{cfg.search.study_name}'", file=sys.stderr)
        sys.exit(130)


def console() -> None:
    """`cellsearch [overrides]`, the console command: the same as `python -m search [overrides]`."""
    check_overrides(sys.argv[1:])
    main()


if __name__ == "__main__":
    console()
