"""Every Kafka topic of the pipeline, declared once: name, key, value schema, size and retention.

Market-data and execution topics are keyed by symbol and share the configured partition count so
that the agents which join them are co-partitioned; account-wide topics have one partition so
their consumer sees every event in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradestream.config.settings import Settings

_DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic's contract."""

    name: str
    key: str
    value: str
    retention_ms: int | None = 7 * _DAY_MS
    compacted: bool = False
    single_partition: bool = False

    def partitions(self, settings: Settings) -> int:
        """Return how many partitions this topic has under ``settings``."""
        return 1 if self.single_partition else settings.partitions

    def configs(self) -> dict[str, str]:
        """Return the broker-side topic configs."""
        if self.compacted:
            return {"cleanup.policy": "compact"}
        configs = {"cleanup.policy": "delete"}
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


ORDERBOOK_RAW = TopicSpec("md.orderbook.raw", "symbol", "raw Bybit orderbook.* frame bytes")
TRADES_RAW = TopicSpec("md.trades.raw", "symbol", "raw Bybit publicTrade.* frame bytes")
TICKERS_RAW = TopicSpec("md.tickers.raw", "symbol", "raw Bybit tickers.* frame bytes")
KLINES_RAW = TopicSpec("md.klines.raw", "symbol", "raw Bybit kline.* frame bytes")
BOOK_TOP = TopicSpec("md.book.top", "symbol", "BookTop JSON", retention_ms=3 * _DAY_MS)
FEATURES = TopicSpec("md.features", "symbol", "Features JSON", retention_ms=3 * _DAY_MS)
CANDLES = TopicSpec(
    "md.candles",
    "symbol",
    "CandleRecord JSON (schemas/market.py): closed OHLCV bars, built from trades by the market "
    "engine (source 'trades', seconds to minutes) or Bybit's confirmed klines (source "
    "'exchange'); co-partitioned with md.features",
    retention_ms=30 * _DAY_MS,
)
BOOK_STATUS = TopicSpec(
    "md.book.status", "symbol", "book status JSON (on change, at most per interval)", compacted=True
)
SIGNALS = TopicSpec(
    "sig.signals", "symbol", "Signal JSON (schemas/trading.py)", single_partition=True
)
EXEC_ORDERS = TopicSpec(
    "exec.orders",
    "symbol",
    "order command JSON: PlaceOrder | CancelOrder | ClosePosition | QueryOrder | SetTradingStop "
    "(schemas/orders.py)",
    retention_ms=30 * _DAY_MS,
)
EXEC_REPORTS = TopicSpec(
    "exec.reports", "symbol", "order event JSON (schemas/orders.py)", retention_ms=30 * _DAY_MS
)
EXEC_RECONCILE = TopicSpec(
    "exec.reconcile",
    "symbol",
    "ExchangeSnapshot JSON: one symbol's open orders and position at the exchange "
    "(schemas/reconciliation.py); co-partitioned with exec.reports",
    retention_ms=_DAY_MS,
)
RISK_DECISIONS = TopicSpec(
    "risk.decisions",
    "symbol",
    "RiskDecision JSON: approved with qty and orderLinkId, or refused with the rule",
    retention_ms=30 * _DAY_MS,
)
ACCOUNT_EVENTS = TopicSpec(
    "account.events",
    "symbol or account",
    "PositionChanged, ReconciliationCorrected and trading-state (kill switch) event JSON",
    retention_ms=30 * _DAY_MS,
    single_partition=True,
)
RISK_STATE = TopicSpec(
    "risk.state",
    "state key",
    "what the risk agent must not forget across a restart: the last trading-state event "
    "(key trading_state) and its replica of each position (key position:<symbol>), as JSON",
    retention_ms=None,
    compacted=True,
    single_partition=True,
)
POSITIONS = TopicSpec(
    "exec.positions",
    "symbol",
    "PositionChanged JSON (schemas/account.py): every change the positions agent makes to a "
    "position (fills, reconciliation), keyed by symbol and co-partitioned with md.book.top, for "
    "per-symbol consumers (the protection agent); account.events has one partition",
    retention_ms=None,
    compacted=True,
)
PROTECTION_TICKS = TopicSpec(
    "protection.ticks",
    "tick",
    "ProtectionTick JSON (schemas/protection.py): the protection timer, one tick per interval on "
    "each partition a trading worker owns, so timed rules run (and write their table) inside "
    "the protection agent's stream; co-partitioned with md.book.top",
    retention_ms=3600 * 1000,
)
PROTECTION_EVENTS = TopicSpec(
    "protection.events",
    "symbol",
    "protection record JSON (schemas/protection.py): closes sent, suppressed and ended, aged "
    "position transitions, stale-price alerts, stop moves; landed in PostgreSQL by the records "
    "agent",
    retention_ms=30 * _DAY_MS,
)
OPS_CONTROL = TopicSpec("ops.control", "symbol or *", "control command JSON", single_partition=True)
OPS_CONFIG = TopicSpec(
    "ops.config", "config key", "config JSON", compacted=True, single_partition=True
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    ORDERBOOK_RAW,
    TRADES_RAW,
    TICKERS_RAW,
    KLINES_RAW,
    BOOK_TOP,
    FEATURES,
    CANDLES,
    BOOK_STATUS,
    SIGNALS,
    EXEC_ORDERS,
    EXEC_REPORTS,
    EXEC_RECONCILE,
    RISK_DECISIONS,
    RISK_STATE,
    ACCOUNT_EVENTS,
    POSITIONS,
    PROTECTION_TICKS,
    PROTECTION_EVENTS,
    OPS_CONTROL,
    OPS_CONFIG,
)

WORKER_INPUTS: tuple[TopicSpec, ...] = (
    ORDERBOOK_RAW,
    TRADES_RAW,
    KLINES_RAW,
    BOOK_TOP,
    FEATURES,
    CANDLES,
)
"""Topics a worker consumes: drained when their consumer groups' lag is zero."""

MARKET_INPUTS: tuple[TopicSpec, ...] = (ORDERBOOK_RAW, TRADES_RAW, KLINES_RAW)
"""Topics the market engine consumes, in its own group (``Settings.market_group_id``)."""
SINK_INPUTS: tuple[TopicSpec, ...] = (TRADES_RAW, BOOK_TOP, FEATURES, CANDLES)
"""Topics the sink agents consume, in the Faust app's group (``Settings.group_id``)."""

TRADING_INPUTS: tuple[TopicSpec, ...] = (
    SIGNALS,
    EXEC_ORDERS,
    EXEC_REPORTS,
    EXEC_RECONCILE,
    RISK_DECISIONS,
    ACCOUNT_EVENTS,
    BOOK_TOP,
    POSITIONS,
    PROTECTION_TICKS,
    PROTECTION_EVENTS,
)
"""Topics the trading agents consume, in the trading app's group (``Settings.faust_app_id``)."""

RISK_INPUTS: tuple[TopicSpec, ...] = (SIGNALS, ACCOUNT_EVENTS, OPS_CONTROL)
"""Topics the risk loop consumes, one partition each, in its own group (``risk_group_id``)."""

RAW_TOPIC_BY_PREFIX: dict[str, TopicSpec] = {
    "orderbook": ORDERBOOK_RAW,
    "publicTrade": TRADES_RAW,
    "tickers": TICKERS_RAW,
    "kline": KLINES_RAW,
}


def raw_topic_for(bybit_topic: str) -> TopicSpec | None:
    """Return the raw Kafka topic for a Bybit public topic, or None if we do not carry it."""
    return RAW_TOPIC_BY_PREFIX.get(bybit_topic.split(".", 1)[0])
