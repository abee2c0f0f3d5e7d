"""Build hook: with ``TRADESTREAM_COMPILE=1``, compile the market-data hot path with mypyc.

Everything else about the package is in ``pyproject.toml``. Without the variable (the default,
``pip install -e '.[dev]'``, CI) the package is pure Python, so an edited ``.py`` always takes
effect. The compiled build needs mypy importable and must land outside the source tree (a
``.so`` beside a ``.py`` shadows it; editable and ``--inplace`` builds are refused), e.g. as
``make compiled`` does::

    TRADESTREAM_COMPILE=1 .venv/bin/python setup.py build --build-base build/compiled \
        --build-lib bench/.build
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

# The per-message path of the market agent: book, features, the glue that drives them, and the
# market engine's per-record step (apply, produce, count deliveries).
# Modules defining pydantic models (config.py, market_config.py) stay interpreted.
COMPILED = [
    "tradestream/core/clock.py",
    "tradestream/core/order_book.py",
    "tradestream/core/frame_checks.py",
    "tradestream/core/market.py",
    "tradestream/core/candles/candle.py",
    "tradestream/core/candles/bar_builder.py",
    "tradestream/core/features/ring.py",
    "tradestream/core/features/levels.py",
    "tradestream/core/features/book_features.py",
    "tradestream/core/features/book_dynamics.py",
    "tradestream/core/features/flow_features.py",
    "tradestream/core/features/volatility.py",
    "tradestream/core/features/engine.py",
    "tradestream/agents/market.py",
    "tradestream/streams/rdkafka.py",
]

# Commands that would put the extensions beside the sources (editable installs, --inplace).
IN_PLACE = {"develop", "editable_wheel", "--inplace", "-i"}


def ext_modules() -> list[object]:
    """Return the mypyc extensions when ``TRADESTREAM_COMPILE=1``, else none."""
    if os.environ.get("TRADESTREAM_COMPILE") != "1":
        return []
    if IN_PLACE.intersection(sys.argv):
        sys.exit("TRADESTREAM_COMPILE=1 builds out of tree only: an in-place .so shadows its .py")
    from mypyc.build import mypycify  # noqa: PLC0415  (only the compiled build needs mypy)

    return list(mypycify(COMPILED, opt_level="3", target_dir="build/mypyc"))


setup(ext_modules=ext_modules())
