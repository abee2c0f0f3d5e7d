"""Portfolio: positions, PnL, equity, the trading day and the equity peak of one account."""

from tradestream.core.portfolio.equity import DAY_MS, EquityCurve, trading_day_start
from tradestream.core.portfolio.executions import SeenExecutions
from tradestream.core.portfolio.holding import Holding
from tradestream.core.portfolio.portfolio import ExecutionResult, Portfolio

__all__ = [
    "DAY_MS",
    "EquityCurve",
    "ExecutionResult",
    "Holding",
    "Portfolio",
    "SeenExecutions",
    "trading_day_start",
]
