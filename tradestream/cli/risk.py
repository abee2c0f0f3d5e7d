"""``tradestream risk kill | reset``: trip or reset the kill switch (see ``cli/trade.py``)."""

from __future__ import annotations

from tradestream.cli.trade import configure_risk_parser as configure_parser
from tradestream.cli.trade import run_risk as run

__all__ = ["configure_parser", "run"]
