"""The order-book scalper: trade with a lopsided book once the tape and the level confirm it.

Unlike the candle strategies it reads ``md.features`` vectors (as a name → value mapping: the
market engine's features plus the ``book_analytics`` ones), so it reacts within a feature
interval instead of a bar. A buy needs all of:

- filters: spread at most ``max_spread_bps``; volatility (``realized_vol_<W>``) inside
  ``[min_volatility_bps, max_volatility_bps]``; no spoofing on the side that makes the book
  lopsided (fewer than ``max_spoof_events`` spoof events and no layering there);
- imbalance: ``imbalance_<depth>`` above a threshold that starts at ``imbalance_threshold`` and
  rises with volatility above ``reference_volatility_bps`` (``volatility_gain`` per reference
  multiple, capped at ``imbalance_cap``): a noisier market needs a more lopsided book;
- microprice: ``(microprice - mid) / (spread / 2)`` at least ``microprice_min_pull`` upwards;
- order flow: ``ofi_<depth>_sum_<W>`` over the depth on both sides (``bid_depth_<d>`` +
  ``ask_depth_<d>``) at least ``ofi_min``: the book has been *moving* up, not just standing;
- trigger (unless ``require_trigger`` is off): a breakout through the resistance cluster
  (``cluster_breakout_up``) or a best bid absorbing sellers (``absorption_bid``);
- and the symbol's cooldown (``cooldown_ms`` since its last signal) has passed.

A sell mirrors it. The signal id is ``<name>-<symbol>-<feature time ms>``; the entry reference is
the touch the order would take (best ask for a buy, mid ± spread/2); the stop is
``stop_volatility`` volatilities away (at least ``min_stop_bps``), the take-profit
``take_profit_ratio`` stops the other way. Every skipped vector is counted by the first reason
that stopped it (``skipped``), so an idle scalper can say why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Final, Self

from pydantic import BaseModel, Field, PositiveFloat, model_validator

from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.errors import BadInputError
from tradestream.core.features.registry import window_suffix
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

BPS: Final = 1e4
ID_LIMIT: Final = 64
_ID_OVERHEAD: Final = 15  # two "-" and a 13-digit millisecond time
Unit = Annotated[float, Field(gt=0.0, lt=1.0)]
WindowMs = Annotated[int, Field(ge=1, le=86_400_000)]


class OrderBookScalperConfig(BaseModel, frozen=True, extra="forbid"):
    """How lopsided, confirmed and calm the book must be for the scalper to signal."""

    imbalance_depth: Annotated[int, Field(ge=1)] = 5
    imbalance_threshold: Unit = 0.7
    imbalance_cap: Unit = 0.9
    volatility_gain: Annotated[float, Field(ge=0.0)] = 0.05
    microprice_min_pull: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    ofi_depth: Annotated[int, Field(ge=1)] = 5
    ofi_window_ms: WindowMs = 1_000
    ofi_min: Unit = 0.05
    require_trigger: bool = True
    max_spread_bps: PositiveFloat = 2.0
    volatility_window_ms: WindowMs = 60_000
    min_volatility_bps: Annotated[float, Field(ge=0.0)] = 0.5
    max_volatility_bps: PositiveFloat = 50.0
    reference_volatility_bps: PositiveFloat = 5.0
    spoof_window_ms: WindowMs = AnalyticsConfig().spoof_window_ms
    max_spoof_events: Annotated[int, Field(ge=1)] = 3
    stop_volatility: PositiveFloat = 1.5
    min_stop_bps: PositiveFloat = 2.0
    take_profit_ratio: PositiveFloat = 2.0
    cooldown_ms: Annotated[int, Field(ge=1)] = 5_000

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        if self.imbalance_cap < self.imbalance_threshold:
            raise ValueError("imbalance_cap must be at least imbalance_threshold")
        if self.min_volatility_bps >= self.max_volatility_bps:
            raise ValueError("min_volatility_bps must be below max_volatility_bps")
        return self

    def feature_names(self) -> dict[str, str]:
        """Name the features the scalper reads, by the role each plays."""
        d, od = self.imbalance_depth, self.ofi_depth
        spoofs = window_suffix(self.spoof_window_ms)
        return {
            "mid": "mid",
            "spread": "spread",
            "spread_bps": "spread_bps",
            "microprice": "microprice",
            "imbalance": f"imbalance_{d}",
            "ofi": f"ofi_{od}_sum_{window_suffix(self.ofi_window_ms)}",
            "bid_depth": f"bid_depth_{od}",
            "ask_depth": f"ask_depth_{od}",
            "volatility": f"realized_vol_{window_suffix(self.volatility_window_ms)}",
            "breakout_up": "cluster_breakout_up",
            "breakout_down": "cluster_breakout_down",
            "absorption_bid": "absorption_bid",
            "absorption_ask": "absorption_ask",
            "spoof_bid": f"spoof_bid_events_{spoofs}",
            "spoof_ask": f"spoof_ask_events_{spoofs}",
            "layering_bid": "layering_bid",
            "layering_ask": "layering_ask",
        }


@dataclass(frozen=True, slots=True)
class _Look:
    # One side's view of a vector: every quantity signed so that "more" favours that side.
    side: Side
    imbalance: float
    pull: float
    ofi: float
    breakout: bool
    absorption: bool
    spoofs: float
    layering: bool


class OrderBookScalper:
    """Turn feature vectors of any number of symbols into scalping signals, one at a time."""

    kind: Final = "orderbook_scalper"

    def __init__(self, name: str = kind, config: OrderBookScalperConfig | None = None) -> None:
        """Check that ``name`` is an id-safe word; read features as ``config`` names them."""
        if not name or not name.isascii() or not name.isprintable() or " " in name:
            raise ValueError(f"strategy name must be printable ASCII without spaces: {name!r}")
        self.name = name
        self.config = config if config is not None else OrderBookScalperConfig()
        self._names = self.config.feature_names()
        self._last_ts: dict[str, int] = {}
        self._cooldown_until: dict[str, int] = {}
        self.skipped: Counter[str] = Counter()
        """Vectors that made no signal, by the first reason that stopped them."""

    def on_features(self, symbol: str, ts_ms: int, features: Mapping[str, float]) -> Signal | None:
        """Judge one symbol's feature vector at feature time ``ts_ms``; return its signal, if any.

        A vector older than the symbol's last one is skipped (``out_of_order``): features come
        from book and trade events whose exchange times may interleave.

        Raises:
            BadInputError: a feature the scalper reads is missing.
            ValueError: the symbol and name make a signal id longer than the schema allows.
        """
        if len(self.name) + len(symbol) + _ID_OVERHEAD > ID_LIMIT:
            raise ValueError(f"{self.name}-{symbol} makes signal ids over {ID_LIMIT} characters")
        values = self._read(features)
        reason = self._gate(symbol, ts_ms, values)
        if reason is None:
            look = self._look(values)
            reason = self._refusal(look, values)
            if reason is None:
                self._cooldown_until[symbol] = ts_ms + self.config.cooldown_ms
                return self._signal(symbol, ts_ms, look, values)
        self.skipped[reason] += 1
        return None

    def _read(self, features: Mapping[str, float]) -> dict[str, float]:
        # The features by role; all of them, or a clear error naming the missing ones.
        try:
            return {role: float(features[name]) for role, name in self._names.items()}
        except KeyError:
            missing = sorted(name for name in self._names.values() if name not in features)
            raise BadInputError(f"features lack {', '.join(missing)}") from None

    def _gate(self, symbol: str, ts_ms: int, v: dict[str, float]) -> str | None:
        # Symbol-wide reasons to stay silent, checked before either side is looked at.
        config = self.config
        if ts_ms < self._last_ts.get(symbol, ts_ms):
            return "out_of_order"
        self._last_ts[symbol] = ts_ms
        if ts_ms < self._cooldown_until.get(symbol, ts_ms):
            return "cooldown"
        if v["mid"] <= 0.0 or v["spread"] <= 0.0:
            return "no_book"
        if v["spread_bps"] > config.max_spread_bps:
            return "spread"
        if not config.min_volatility_bps <= v["volatility"] <= config.max_volatility_bps:
            return "volatility"
        return None

    def _look(self, v: dict[str, float]) -> _Look:
        # Take the side the book leans to, and express every confirmation in its direction.
        sign = 1.0 if v["imbalance"] >= 0.0 else -1.0
        depth = v["bid_depth"] + v["ask_depth"]
        buy = sign > 0.0
        return _Look(
            side=Side.BUY if buy else Side.SELL,
            imbalance=sign * v["imbalance"],
            pull=sign * (v["microprice"] - v["mid"]) / (0.5 * v["spread"]),
            ofi=sign * v["ofi"] / depth if depth > 0.0 else 0.0,
            breakout=v["breakout_up" if buy else "breakout_down"] > 0.0,
            absorption=v["absorption_bid" if buy else "absorption_ask"] > 0.0,
            spoofs=v["spoof_bid" if buy else "spoof_ask"],
            layering=v["layering_bid" if buy else "layering_ask"] > 0.0,
        )

    def imbalance_threshold(self, volatility_bps: float) -> float:
        """Return the imbalance a vector must exceed at this volatility (adaptive threshold)."""
        config = self.config
        excess = max(volatility_bps / config.reference_volatility_bps - 1.0, 0.0)
        return min(
            config.imbalance_cap, config.imbalance_threshold + config.volatility_gain * excess
        )

    def _refusal(self, look: _Look, v: dict[str, float]) -> str | None:
        # The first confirmation the leaning side lacks, if any.
        config = self.config
        if look.spoofs >= config.max_spoof_events or look.layering:
            return "spoofing"
        if look.imbalance <= self.imbalance_threshold(v["volatility"]):
            return "imbalance"
        if look.pull < config.microprice_min_pull:
            return "microprice"
        if look.ofi < config.ofi_min:
            return "ofi"
        if config.require_trigger and not (look.breakout or look.absorption):
            return "trigger"
        return None

    def _signal(self, symbol: str, ts_ms: int, look: _Look, v: dict[str, float]) -> Signal:
        # The signal of a vector that passed every check, with volatility-scaled exits.
        config = self.config
        threshold = self.imbalance_threshold(v["volatility"])
        sign = 1.0 if look.side is Side.BUY else -1.0
        entry = v["mid"] + sign * 0.5 * v["spread"]
        stop_bps = max(config.min_stop_bps, config.stop_volatility * v["volatility"])
        stop = entry * (1.0 - sign * stop_bps / BPS)
        take = entry * (1.0 + sign * config.take_profit_ratio * stop_bps / BPS)
        triggers = [
            word
            for word, seen in (("cluster breakout", look.breakout), ("absorption", look.absorption))
            if seen
        ]
        scores = (
            (look.imbalance - threshold) / (1.0 - threshold),
            look.pull,
            min(1.0, look.ofi / (4.0 * config.ofi_min)),
            len(triggers) / 2.0,
        )
        names = self._names
        return Signal(
            signal_id=f"{self.name}-{symbol}-{ts_ms}",
            strategy=self.name,
            symbol=symbol,
            side=look.side,
            strength=min(1.0, max(0.0, sum(scores) / len(scores))),
            entry_price=_price(entry),
            stop_loss=_price(stop),
            take_profit=_price(take),
            reason=self._reason(look, threshold, triggers, v),
            created_ts_ms=ts_ms,
            indicators={names[role]: value for role, value in v.items()}
            | {"imbalance_threshold": threshold, "stop_bps": stop_bps},
        )

    def _reason(
        self, look: _Look, threshold: float, triggers: list[str], v: dict[str, float]
    ) -> str:
        # Why the signal fired, in words, with the numbers that decided it.
        return (
            f"{look.side.value.lower()}: {self._names['imbalance']} {look.imbalance:.2f} over "
            f"{threshold:.2f} at volatility {v['volatility']:.2f} bps, microprice pull "
            f"{look.pull:.2f}, OFI {look.ofi:.3f} of depth, "
            f"{' and '.join(triggers) or 'no trigger required'}, spread {v['spread_bps']:.2f} bps"
        )


def _price(value: float) -> Decimal:
    # Ten significant digits, as the candle strategies: the executor rounds to the tick.
    return Decimal(f"{value:.10g}")
