"""Produce latency: per-batch samples weighted by records, over a sliding window."""

from __future__ import annotations

from tradestream.streams.produce_latency import ProduceLatency, weighted_percentile


def test_weighted_percentile_counts_each_record() -> None:
    samples = [(0.001, 98), (0.5, 2)]
    assert weighted_percentile(samples, 0.5) == 0.001
    assert weighted_percentile(samples, 0.98) == 0.001
    assert weighted_percentile(samples, 0.99) == 0.5
    assert weighted_percentile([], 0.5) == 0.0


def test_summary_covers_only_the_window() -> None:
    now = [100.0]
    latency = ProduceLatency(window_s=10, clock=lambda: now[0])
    latency.add(1.0, 50)
    now[0] = 105.0
    latency.add(0.004, 10)
    latency.add(0.002, 10)
    assert latency.summary_ms() == {
        "samples": 70.0,
        "batches": 3.0,
        "p50": 1000.0,
        "p99": 1000.0,
        "max": 1000.0,
    }
    now[0] = 112.0
    summary = latency.summary_ms()
    assert (summary["samples"], summary["p50"], summary["max"]) == (20.0, 2.0, 4.0)
