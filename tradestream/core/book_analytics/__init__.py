"""Order-book analytics of one symbol: clusters, support/resistance, spoofing, absorption.

Feed a ``BookAnalytics`` every book change (the best ``AnalyticsConfig.levels`` levels per side,
best first) and every public trade, with event time in integer milliseconds; read the vector
with ``values()`` or ``as_dict()``. ``ANALYTICS_NAMES`` is its column order for the default
config; each feature has a ``FeatureSpec`` (name, formula, units, value when undefined) in
``ANALYTICS_SPECS``, rendered for the docs by ``features.render_markdown``. No value is ever NaN
or infinite given valid input; where one is undefined the spec says what is reported instead.

Modules: ``config`` (AnalyticsConfig), ``clusters`` (volume clusters, book support/resistance,
breakouts), ``trade_levels`` (support/resistance from traded volume), ``spoofing`` (spoof events,
layering), ``absorption`` (held best levels traded through), ``analytics`` (BookAnalytics).
"""

from tradestream.core.book_analytics.analytics import (
    ANALYTICS_NAMES,
    ANALYTICS_SPECS,
    BookAnalytics,
)
from tradestream.core.book_analytics.config import AnalyticsConfig

__all__ = ["ANALYTICS_NAMES", "ANALYTICS_SPECS", "AnalyticsConfig", "BookAnalytics"]
