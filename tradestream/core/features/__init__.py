"""Order-book and trade-flow features of one symbol, computed incrementally and without I/O.

Feed a ``FeatureEngine`` every book change (top-N levels, best first) and every public trade,
with event time in integer milliseconds; read the vector with ``values()`` (a copy),
``fill(out)`` (into your preallocated list or array) or ``as_dict()``. ``FEATURE_NAMES`` is the
column order of the ``md.features`` record for the default ``FeatureConfig``; an engine built
from another config exposes its own ``names``.

Every feature has a ``FeatureSpec`` (name, formula, units, value when undefined) in
``FEATURE_SPECS``; ``render_markdown(FEATURE_SPECS)`` renders the table the docs publish. Given
valid input (see ``FeatureEngine.on_book``) no feature is ever NaN or infinite: where a value is
undefined (empty book side, empty window, too few returns) the spec says what is reported
instead, usually 0.0.

Units: prices and notionals in quote currency (USDT), sizes in base currency, ratios unitless,
bps = 10^-4 of the mid, times in ms, rates per second. Windows are trailing event-time windows
``(now - W, now]``, not event counts.

Modules: ``config`` (FeatureConfig), ``levels`` (double-buffered top-N), ``ring`` (windowed
sums), ``book_features`` (snapshot), ``book_dynamics`` (OFI, level ages, adds/cancels),
``flow_features`` (trades), ``volatility`` (returns, rates of change), ``engine``.
"""

from tradestream.core.features.config import FeatureConfig
from tradestream.core.features.engine import (
    FEATURE_NAMES,
    FEATURE_SPECS,
    FeatureEngine,
    FloatBuffer,
    feature_specs,
)
from tradestream.core.features.registry import FeatureSpec, render_markdown

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_SPECS",
    "FeatureConfig",
    "FeatureEngine",
    "FeatureSpec",
    "FloatBuffer",
    "feature_specs",
    "render_markdown",
]
