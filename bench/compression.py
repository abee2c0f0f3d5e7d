"""Cost of compressing the raw topics, as ingest batches them: aiokafka's codecs per record.

Ingest (and replay) produce the raw topics with aiokafka, one batch per partition every few
milliseconds; at 10,000 frames/s over 8 partitions a batch holds one to three frames, and the
cost that decides a codec is its cost per *batch*. The market engine's librdkafka consumer and
the sink worker's aiokafka consumer pay the decompression. For batches of 1, 2, 3, 8 and 32
recorded frames (``pipeline.py``'s recording, in order), this bench builds v2 record batches
with each codec and reads them back, and reports µs per record (CPU) for encoding and for
decoding in aiokafka, and the bytes per record on the wire and on disk.

Usage: ``.venv/bin/python bench/compression.py [--frames N]``
"""

from __future__ import annotations

import argparse
import gzip
import time
from typing import Any

import harness
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from pipeline import find_recording

CODECS = {"zstd": 0x04, "lz4": 0x03, "none": 0x00}
BATCH_SIZES = (1, 2, 3, 8, 32)


def measure(frames: list[bytes], per_batch: int, codec: int) -> dict[str, float]:
    """Encode ``frames`` in batches of ``per_batch`` with ``codec``, then decode them."""
    started = time.process_time()
    batches = []
    for i in range(0, len(frames) - per_batch + 1, per_batch):
        builder = DefaultRecordBatchBuilder(
            magic=2,
            compression_type=codec,
            is_transactional=False,
            producer_id=-1,
            producer_epoch=-1,
            base_sequence=-1,
            batch_size=1 << 20,
        )
        for j in range(per_batch):
            builder.append(j, timestamp=None, key=b"BTCUSDT", value=frames[i + j], headers=[])
        batches.append(bytes(builder.build()))
    encode_s = time.process_time() - started
    started = time.process_time()
    records = sum(1 for batch in batches for _ in DefaultRecordBatch(batch))
    decode_s = time.process_time() - started
    return {
        "encode_us_per_record": round(1e6 * encode_s / records, 2),
        "decode_us_per_record": round(1e6 * decode_s / records, 2),
        "bytes_per_record": round(sum(map(len, batches)) / records, 1),
    }


def main() -> None:
    """Measure every codec at every batch size; write ``bench/results/compression.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=0, help="use only the first N (0: all)")
    args = parser.parse_args()
    frames = gzip.decompress(find_recording().read_bytes()).splitlines()[: args.frames or None]
    results: dict[str, Any] = {
        "commit": harness.commit(),
        "frames": len(frames),
        "mean_frame_bytes": round(sum(map(len, frames)) / len(frames), 1),
    }
    for per_batch in BATCH_SIZES:
        row = {name: measure(frames, per_batch, codec) for name, codec in CODECS.items()}
        results[f"{per_batch}_per_batch"] = row
        print(f"[compression] {per_batch} per batch: {row}", flush=True)
    harness.write_report("compression", {**results, "environment": harness.environment()})


if __name__ == "__main__":
    main()
