"""The one refusal of `dataset.seq_len` for the datasets whose sequences have their own length (piano rolls, the
long-memory problems, users' sequences): a truncation length there would be ignored without a word."""

from __future__ import annotations

from search.errors import UserError


def refuse_seq_len(seq_len, name: str, length: str = "every sequence is read whole", instead: str = "") -> None:
    """A UserError in one line when `seq_len` is set: what sets `name`'s length (`length`), and what to set
    `instead`, if anything."""
    if seq_len is not None:
        raise UserError(f"dataset.seq_len={seq_len} has no effect on {name}: {length}; remove the override (and "
                        f"dataset.seq_len from the space){instead}")
