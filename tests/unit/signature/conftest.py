from collections.abc import Callable
from pathlib import Path

import pytest

from crashline.common.signature import SignatureGenerator
from crashline.common.signature.siglists import LIST_FILES


@pytest.fixture
def make_lists(tmp_path: Path) -> Callable[..., Path]:
    """Write a toy lists directory: make_lists(sentinels=[...], irrelevant=[...], ...)."""

    def make(sentinels=(), irrelevant=(), prefix=(), line_numbers=()) -> Path:
        directory = tmp_path / "lists"
        directory.mkdir(exist_ok=True)
        for name, entries in zip(
            LIST_FILES, (sentinels, irrelevant, prefix, line_numbers), strict=True
        ):
            (directory / name).write_text("# toy list\n" + "".join(f"{e}\n" for e in entries))
        return directory

    return make


@pytest.fixture
def toy_generator(make_lists) -> SignatureGenerator:
    """The reference's own toy lists for walk tests: a b c irrelevant, d e f prefix."""
    return SignatureGenerator(
        make_lists(
            sentinels=["sentinel"],
            irrelevant=["a", "b", "c"],
            prefix=["d", "e", "f"],
            line_numbers=["fnNeedNumber"],
        )
    )
