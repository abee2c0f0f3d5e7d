"""Build hook: with ``TRADESTREAM_COMPILE=1``, compile the market-data hot path with mypyc.

Everything else about the package is in ``pyproject.toml``. Without the variable (the default,
``pip install -e '.[dev]'``, CI) the package is pure Python, so an edited ``.py`` always takes
effect. The compiled build needs mypy importable, so build it without isolation and outside the
source tree, never in place (a ``.so`` beside a ``.py`` shadows it), e.g. as ``make bench`` does::

    TRADESTREAM_COMPILE=1 .venv/bin/pip install --no-build-isolation --no-deps \
        --target bench/.build .
"""

from __future__ import annotations

import os

from setuptools import setup

# The per-message path of the market agent: book, features, and the glue that drives them.
# Modules holding pydantic models other than market.py's config are left interpreted.
COMPILED = [
    "tradestream/core/order_book.py",
    "tradestream/core/market.py",
    "tradestream/core/features/ring.py",
    "tradestream/core/features/levels.py",
    "tradestream/core/features/book_features.py",
    "tradestream/core/features/book_dynamics.py",
    "tradestream/core/features/flow_features.py",
    "tradestream/core/features/volatility.py",
    "tradestream/core/features/engine.py",
]


def ext_modules() -> list[object]:
    """Return the mypyc extensions when ``TRADESTREAM_COMPILE=1``, else none."""
    if os.environ.get("TRADESTREAM_COMPILE") != "1":
        return []
    from mypyc.build import mypycify  # noqa: PLC0415  (only the compiled build needs mypy)

    return list(mypycify(COMPILED, opt_level="3", target_dir="build/mypyc"))


setup(ext_modules=ext_modules())
