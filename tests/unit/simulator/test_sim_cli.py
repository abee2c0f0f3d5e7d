"""``tradestream simulate`` parses its options, serves, and reports progress."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from tradestream.core.errors import BadInputError
from tradestream.simulator import FaultKind, ReplaySourceConfig, SyntheticSourceConfig
from tradestream.simulator.cli import build_config, configure_parser, parse_fault, run

from .support import RECORDING, within

pytestmark = pytest.mark.timeout(30)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tradestream simulate")
    configure_parser(parser)
    return parser.parse_args(["--recording", str(RECORDING), *argv])


def test_options_build_a_replay_config() -> None:
    config = build_config(
        _parse("--port", "0", "--speed", "5", "--loops", "2", "--symbols", "50",
               "--fault", "slow:delay_ms=5", "--fault", "gap:symbol=ETHUSDT,every_s=10")
    )  # fmt: skip

    assert config.port == 0
    assert config.source == ReplaySourceConfig(
        recording=(RECORDING,), speed=5.0, loops=2, symbols=50
    )
    assert [(f.fault, f.symbol, f.every_s) for f in config.faults] == [
        (FaultKind.SLOW, None, None),
        (FaultKind.GAP, "ETHUSDT", 10.0),
    ]


def test_options_build_a_synthetic_config() -> None:
    config = build_config(_parse("--source", "synthetic", "--rate", "20000", "--symbols", "100"))

    assert config.source == SyntheticSourceConfig(recording=(RECORDING,), rate=20000, symbols=100)


@pytest.mark.parametrize("text", ["gap:symbol", "teleport", "slow", "drop", "gap:symbol=BTCUSDT"])
def test_bad_faults_are_refused(text: str) -> None:
    with pytest.raises((BadInputError, ValueError)):
        parse_fault(text)


def test_bad_options_exit_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_parse("--speed", "-1")) == 2
    assert "invalid options" in capsys.readouterr().err


async def test_run_prints_a_banner_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse("--port", "0", "--duration", "0.3", "--progress-interval", "0.05")

    assert await within(asyncio.to_thread(run, args), 10) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("tradestream simulate: ws ws://127.0.0.1:")
    assert "/v5/public/linear  admin http://127.0.0.1:" in lines[0]
    assert any(line.startswith("sent ") and "frames/s" in line for line in lines[1:])


def test_a_missing_recording_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tradestream simulate")
    configure_parser(parser)

    assert run(parser.parse_args(["--recording", "/nonexistent/recording.ndjson.gz"])) == 2
    assert "cannot start" in capsys.readouterr().err
