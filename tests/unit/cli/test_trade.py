"""``tradestream trade``: a person's signal, its levels and ATR checked before it goes."""

from __future__ import annotations

import argparse
from decimal import Decimal

import pytest

from tradestream.cli import trade
from tradestream.config.settings import Settings
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

D = Decimal


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    trade.configure_parser(parser)
    return parser.parse_args(["--symbol", "SOLUSDT", "--notional", "100", "--price", "100",
                              *argv])  # fmt: skip


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Signal]:
    published: list[Signal] = []

    async def publish(settings: Settings, signal: Signal) -> None:
        published.append(signal)

    monkeypatch.setattr(trade, "publish_signal", publish)
    return published


def test_the_levels_typed_go_out_on_the_signal(
    sent: list[Signal], capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse("--side", "buy", "--stop-loss", "98.5", "--take-profit", "101.2")

    assert trade.run(args) == 0

    [signal] = sent
    assert (signal.side, signal.entry_price) == (Side.BUY, D(100))
    assert (signal.stop_loss, signal.take_profit) == (D("98.5"), D("101.2"))
    assert "stop-loss 98.5, take-profit 101.2" in capsys.readouterr().out


def test_the_atr_typed_goes_out_as_the_signals_atr_indicator(
    sent: list[Signal], capsys: pytest.CaptureFixture[str]
) -> None:
    assert trade.run(parse("--side", "sell", "--atr", "0.35")) == 0

    [signal] = sent
    assert signal.indicators == {"atr": 0.35}
    assert "ATR 0.35" in capsys.readouterr().out


def test_without_levels_the_signal_has_none() -> None:
    signal = trade.manual_signal("SOLUSDT", "sell", D(100), D(100), "why")

    assert (signal.stop_loss, signal.take_profit, signal.indicators) == (None, None, {})


@pytest.mark.parametrize(
    "argv",
    [
        ("--side", "buy", "--stop-loss", "101"),  # a buy's stop above the price
        ("--side", "buy", "--take-profit", "99"),
        ("--side", "sell", "--stop-loss", "99", "--take-profit", "90"),
        ("--side", "sell", "--take-profit", "0"),
        ("--side", "sell", "--reduce-only", "--stop-loss", "105"),
        ("--side", "sell", "--reduce-only", "--atr", "0.35"),
        ("--side", "buy", "--atr", "0"),
        ("--side", "buy", "--atr", "-0.5"),
        ("--side", "buy", "--atr", "NaN"),
    ],
)
def test_levels_on_the_wrong_side_or_on_a_close_are_refused_before_anything_is_sent(
    argv: tuple[str, ...], sent: list[Signal], capsys: pytest.CaptureFixture[str]
) -> None:
    assert trade.run(parse(*argv)) == 2

    assert sent == []
    assert capsys.readouterr().err.startswith("trade: ")
