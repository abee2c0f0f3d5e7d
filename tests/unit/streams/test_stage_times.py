"""Stage times accumulate along a chain of records and read back per stage."""

from __future__ import annotations

from tradestream.streams.stage_times import STAGES_HEADER, read_stages, with_stage


def test_each_stage_appends_its_time_and_the_last_record_holds_them_all() -> None:
    signal = [(STAGES_HEADER, with_stage(None, "strategy", 40))]
    order = {STAGES_HEADER: with_stage(signal, "risk", 85)}
    report = [("other", b"x"), (STAGES_HEADER, with_stage(order, "execution", 120))]

    assert read_stages(report) == {"strategy": 40, "risk": 85, "execution": 120}


def test_records_without_stage_times_read_as_none_and_a_clock_step_back_counts_zero() -> None:
    assert read_stages(None) == {}
    assert read_stages([("source", b"ws-1")]) == {}
    assert read_stages({STAGES_HEADER: with_stage(None, "risk", -3)}) == {"risk": 0}
