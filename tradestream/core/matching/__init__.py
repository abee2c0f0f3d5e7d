"""Matching: the deterministic engine that fills orders against L2 books for paper, backtest and
simulator, with the account (positions, PnL, fees, margin) it settles into."""

from tradestream.core.matching.account import Account
from tradestream.core.matching.book import (
    BookView,
    Level,
    StaticBook,
    best_ask,
    best_bid,
    mid_price,
)
from tradestream.core.matching.config import FeeConfig, MatchingEngineConfig
from tradestream.core.matching.engine import MatchingEngine
from tradestream.core.matching.position import Position
from tradestream.core.matching.sim_order import SimOrder

__all__ = [
    "Account",
    "BookView",
    "FeeConfig",
    "Level",
    "MatchingEngine",
    "MatchingEngineConfig",
    "Position",
    "SimOrder",
    "StaticBook",
    "best_ask",
    "best_bid",
    "mid_price",
]
