"""What the adding and copy problems share: their checks and their card. Both are generated from
`dataset.data_seed` (every trial sees the same data), and their sequence length is the task's
(`dataset.length`), not a truncation: `dataset.seq_len` has no meaning there and is refused, on the
command line or in the search space."""

from __future__ import annotations

from search.datasets._seq_len import refuse_seq_len
from search.errors import UserError


def check(name: str, seq_len, sizes: dict[str, int], length: int, min_length: int) -> None:
    refuse_seq_len(seq_len, name, "its sequence length is dataset.length", " and set dataset.length instead")
    for split, n in sizes.items():
        if n < 1:
            raise UserError(f"dataset.n_{split}={n} is invalid: every split needs at least one sequence")
    if length < min_length:
        raise UserError(f"dataset.length={length} is invalid: {name} needs at least {min_length} steps")


def card(name: str, origin: str, sizes: dict[str, int], data_seed: int, extra: dict) -> dict:
    return {"name": name, "source": f"generated: {name}, data_seed={data_seed}", "origin": origin,
            "size": sum(sizes.values()), "splits": dict(sizes),
            "split": f"independent draws per split from data_seed={data_seed}", **extra}
