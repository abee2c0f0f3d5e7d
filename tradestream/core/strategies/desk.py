"""The signal desk: every configured strategy of the symbols one agent owns, fed and guarded.

The signal agent (``agents/signals.py``) hands the desk each closed bar, each feature vector and
each book top of its partitions; the desk routes them and answers with a ``DeskOutcome``: the
signals to publish, the ones it held back and why, the strategies that failed. It does no I/O and
reads no clock, so a replay gives the same signals with the same ids.

Where a strategy's bars come from (one source per interval, so no bar is fed twice):

- an interval Bybit streams to us (``DeskConfig.exchange_intervals_s``, the ingest's
  ``kline_intervals``): Bybit's confirmed klines of that interval (``source == "exchange"``), the
  same bars the warm-up fetches over REST;
- any other interval (30 m, 4 h, a day): a UTC roll-up of Bybit's confirmed 1-minute klines.
  The first rolled bar after a start is dropped unless its first minute was seen (it would be
  a partial bar); the warm-up covers the bars before it;
- trade-built bars (``source == "trades"``) are not fed: they serve sub-minute work and the
  cross-check with the exchange's bars.

A signal is held back when the symbol's book is not known valid at the bar's exchange time:
``no_book`` (no book top or feature vector seen yet), ``book_invalid`` (the latest says so), or
``book_stale`` (the latest is more than ``book_stale_after_ms`` older than the bar or vector).
The strategies still see the bar, so their indicators stay current. A strategy that raises is
isolated: its failure is reported and the others still get the event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from pydantic import BaseModel, NonNegativeInt, PositiveInt

from tradestream.core.candles import RollUp
from tradestream.core.candles.candle import Candle
from tradestream.core.errors import BadInputError, HaltError
from tradestream.core.strategies.registry import build
from tradestream.core.strategies.scalper import OrderBookScalper, OrderBookScalperConfig
from tradestream.core.strategies.strategy import Strategy
from tradestream.schemas.market import BookTop, CandleRecord, Features
from tradestream.schemas.trading import Signal

SCALPER_KIND: Final = "order_book_scalper"
MINUTE_S: Final = 60
VALID: Final = "valid"


class DeskConfig(BaseModel, frozen=True, extra="forbid"):
    """Which bar intervals come from the exchange, and when a book is too old to trade on."""

    exchange_intervals_s: frozenset[PositiveInt] = frozenset({60, 300, 900, 3_600})
    book_stale_after_ms: NonNegativeInt = 5_000


@dataclass(slots=True)
class DeskOutcome:
    """What one event made: signals to publish, signals held back, strategies that failed."""

    signals: list[Signal] = field(default_factory=list)
    suppressed: list[tuple[str, str]] = field(default_factory=list)
    """(strategy, reason) of each signal held back."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(strategy, error) of each strategy that raised on this event."""
    skipped: str | None = None
    """Why the event fed no strategy at all, if it did not."""


@dataclass(frozen=True, slots=True)
class _Book:
    status: str
    exchange_ts_ms: int


def check_params(kind: str, name: str, symbol: str, params: Mapping[str, object]) -> None:
    """Raise ValueError if ``params`` cannot make a ``kind`` strategy for ``symbol``."""
    if kind == SCALPER_KIND:
        OrderBookScalper(name, OrderBookScalperConfig.model_validate(dict(params)))
    else:
        build(kind, name, symbol, params)


def make_strategy(
    kind: str, name: str, symbol: str, params: Mapping[str, object]
) -> Strategy | OrderBookScalper:
    """Return a configured instance: a candle strategy, or a scalper for ``symbol``'s vectors."""
    if kind == SCALPER_KIND:
        return OrderBookScalper(name, OrderBookScalperConfig.model_validate(dict(params)))
    return build(kind, name, symbol, params)


Instance = tuple[str, str, str, Mapping[str, object]]
"""One configured strategy on one symbol: kind, name, symbol, params."""


class SignalDesk:
    """Run the strategies of many symbols: route bars and vectors, hold back unsafe signals."""

    @classmethod
    def of(
        cls,
        instances: Iterable[Instance],
        feature_schemas: Mapping[str, Sequence[str]] | None = None,
        config: DeskConfig | None = None,
    ) -> SignalDesk:
        """Return a desk running ``instances`` (``StrategiesConfig.instances()``)."""
        candles: list[Strategy] = []
        scalpers: dict[str, list[OrderBookScalper]] = {}
        for kind, name, symbol, params in instances:
            made = make_strategy(kind, name, symbol, params)
            if isinstance(made, OrderBookScalper):
                scalpers.setdefault(symbol, []).append(made)
            else:
                candles.append(made)
        return cls(candles, scalpers, feature_schemas, config)

    def __init__(
        self,
        strategies: Iterable[Strategy],
        scalpers: Mapping[str, Sequence[OrderBookScalper]] | None = None,
        feature_schemas: Mapping[str, Sequence[str]] | None = None,
        config: DeskConfig | None = None,
    ) -> None:
        """Take candle strategies, scalpers by symbol, and feature names by ``names_id``."""
        self.config = config if config is not None else DeskConfig()
        self._by_bar: dict[tuple[str, int], list[Strategy]] = {}
        for strategy in strategies:
            self._by_bar.setdefault((strategy.symbol, strategy.interval_s), []).append(strategy)
        self._scalpers = {symbol: list(s) for symbol, s in (scalpers or {}).items()}
        self._schemas = {key: tuple(names) for key, names in (feature_schemas or {}).items()}
        self._rollups: dict[tuple[str, int], RollUp] = {}
        self._partial_open: dict[tuple[str, int], int] = {}
        self._last_open: dict[tuple[str, int], int] = {}
        self._last_seen: dict[tuple[str, int], int] = {}
        self._books: dict[str, _Book] = {}
        self._warm: set[str] = set()
        self.counts: Counter[str] = Counter()
        """Running totals by outcome (``signal``, ``suppressed:<reason>``, ``failed``, ...)."""
        if self.rolled_intervals() and MINUTE_S not in self.config.exchange_intervals_s:
            raise ValueError("rolled-up intervals need the exchange's 1-minute klines")

    def symbols(self) -> list[str]:
        """Return every symbol some strategy runs on, sorted."""
        return sorted({symbol for symbol, _ in self._by_bar} | set(self._scalpers))

    def intervals(self, symbol: str) -> list[int]:
        """Return the bar intervals ``symbol``'s candle strategies take, ascending."""
        return sorted(interval for s, interval in self._by_bar if s == symbol)

    @property
    def schema_ids(self) -> frozenset[str]:
        """Return the ``names_id`` of every feature vector layout the desk can read."""
        return frozenset(self._schemas)

    def rolled_intervals(self) -> set[int]:
        """Return the intervals made by rolling 1-minute bars up."""
        exchange = self.config.exchange_intervals_s
        return {interval for _, interval in self._by_bar if interval not in exchange}

    # --- book state -------------------------------------------------------------------------

    def on_book_top(self, top: BookTop) -> None:
        """Remember the book's status at the top's exchange time (the latest time wins)."""
        self._note_book(top.symbol, top.status, top.exchange_ts_ms)

    def verdict(self, symbol: str, at_ms: int) -> str | None:
        """Return why ``symbol``'s book cannot back a signal at exchange time ``at_ms``, or None."""
        book = self._books.get(symbol)
        if book is None:
            return "no_book"
        if book.status != VALID:
            return "book_invalid"
        if at_ms - book.exchange_ts_ms > self.config.book_stale_after_ms:
            return "book_stale"
        return None

    def _note_book(self, symbol: str, status: str, ts_ms: int) -> None:
        known = self._books.get(symbol)
        if known is None or ts_ms >= known.exchange_ts_ms:
            self._books[symbol] = _Book(status, ts_ms)

    # --- warm-up ----------------------------------------------------------------------------

    def needs_warm_up(self, symbol: str) -> bool:
        """Return True until ``warm`` has been called for ``symbol`` (or it has no bars to warm)."""
        return symbol not in self._warm and bool(self.intervals(symbol))

    def warm(self, symbol: str, history: Mapping[int, Sequence[Candle]], before_ms: int) -> int:
        """Feed history bars that closed by ``before_ms``, oldest first; their signals are dropped.

        ``history`` maps an interval to its closed bars. Returns how many bars were fed. Called
        once per symbol (a fetch that failed passes nothing and the strategies start cold).
        """
        self._warm.add(symbol)
        fed = 0
        for _, bars in sorted(history.items()):
            for bar in bars:
                if bar.close_ts_ms <= before_ms and self._feed(bar, None).skipped is None:
                    fed += 1
        self.counts["warm_bars"] += fed
        return fed

    # --- bars -------------------------------------------------------------------------------

    def on_candle(self, record: CandleRecord, candle: Candle) -> DeskOutcome:
        """Feed one ``md.candles`` bar (``candle`` is its float form) to the strategies it makes."""
        if record.source != "exchange":
            return self._skip("trades_bar")
        key = (record.symbol, record.interval_s)
        if record.open_ts_ms <= self._last_seen.get(key, -1):
            return self._skip("old_bar")  # a redelivery: rolling it up again would count twice
        self._last_seen[key] = record.open_ts_ms
        if record.interval_s in self.config.exchange_intervals_s and key in self._by_bar:
            outcome = self._feed(candle, record.exchange_ts_ms)
        else:
            outcome = DeskOutcome(skipped="no_strategy")
        if record.interval_s == MINUTE_S:
            for rolled in self._roll(candle):
                self._merge(outcome, self._feed(rolled, record.exchange_ts_ms))
        return outcome

    def _roll(self, minute: Candle) -> list[Candle]:
        # The rolled-up bars this minute completes, dropping a first bar that missed minutes.
        done: list[Candle] = []
        for interval_s in self.intervals(minute.symbol):
            if interval_s in self.config.exchange_intervals_s:
                continue
            key = (minute.symbol, interval_s)
            roll = self._rollups.get(key)
            if roll is None:
                roll = self._rollups[key] = RollUp(interval_s)
                period_ms = interval_s * 1000
                if minute.open_ts_ms % period_ms:
                    self._partial_open[key] = minute.open_ts_ms - minute.open_ts_ms % period_ms
            for bar in roll.on_bar(minute):
                if self._partial_open.get(key) == bar.open_ts_ms:
                    self.counts["partial_roll_up"] += 1
                    continue
                done.append(bar)
        return done

    def _feed(self, bar: Candle, at_ms: int | None) -> DeskOutcome:
        # One bar to its strategies; at_ms None is warm-up: no signal leaves.
        key = (bar.symbol, bar.interval_s)
        strategies = self._by_bar.get(key)
        if not strategies:
            return self._skip("no_strategy")
        if bar.open_ts_ms <= self._last_open.get(key, -1):
            return self._skip("old_bar")
        self._last_open[key] = bar.open_ts_ms
        outcome = DeskOutcome()
        reason = None if at_ms is None else self.verdict(bar.symbol, at_ms)
        for strategy in strategies:
            self._run(outcome, strategy.name, reason, at_ms is None, strategy.on_candle, bar)
        return outcome

    # --- feature vectors --------------------------------------------------------------------

    def on_features(self, record: Features) -> DeskOutcome:
        """Note the book's state in a feature vector and feed it to the symbol's scalpers.

        Raises:
            BadInputError: the vector's length does not match its schema.
        """
        self._note_book(record.symbol, record.book_status, record.exchange_ts_ms)
        scalpers = self._scalpers.get(record.symbol)
        if not scalpers:
            return self._skip("no_scalper")
        names = self._schemas.get(record.names_id)
        if names is None:
            return self._skip("unknown_feature_schema")
        if len(names) != len(record.values):
            raise BadInputError(
                f"{len(record.values)} values for the {len(names)} features of {record.names_id}"
            )
        features = dict(zip(names, record.values, strict=True))
        reason = self.verdict(record.symbol, record.exchange_ts_ms)
        outcome = DeskOutcome()
        for scalper in scalpers:
            if not set(scalper.config.feature_names().values()) <= features.keys():
                outcome.skipped = "scalper_features_missing"
                self.counts["skipped:scalper_features_missing"] += 1
                continue
            args = (record.symbol, record.exchange_ts_ms, features)
            self._run(outcome, scalper.name, reason, False, scalper.on_features, *args)
        return outcome

    # --- shared -----------------------------------------------------------------------------

    def _run(
        self,
        outcome: DeskOutcome,
        name: str,
        reason: str | None,
        warming: bool,
        call: Callable[..., Signal | None],
        *args: object,
    ) -> None:
        # One strategy on one event, isolated: its failure is reported, never raised.
        try:
            signal = call(*args)
        except HaltError:
            raise
        except Exception as exc:  # a strategy's bug must not silence the others
            outcome.failures.append((name, f"{type(exc).__name__}: {exc}"))
            self.counts["failed"] += 1
            return
        if signal is None or warming:
            return
        if reason is not None:
            outcome.suppressed.append((name, reason))
            self.counts[f"suppressed:{reason}"] += 1
            return
        outcome.signals.append(signal)
        self.counts["signal"] += 1

    def _skip(self, reason: str) -> DeskOutcome:
        self.counts[f"skipped:{reason}"] += 1
        return DeskOutcome(skipped=reason)

    @staticmethod
    def _merge(into: DeskOutcome, more: DeskOutcome) -> None:
        into.signals += more.signals
        into.suppressed += more.suppressed
        into.failures += more.failures
        if more.skipped is None:
            into.skipped = None
