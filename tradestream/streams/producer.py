"""The Kafka producer every raw-data writer uses: durable and ordered per key.

``acks=all`` with idempotence means a retried batch is never written twice and never reordered
within a partition; linger and compression batch small frames into few requests.

lz4 rather than zstd (``bench/compression.py``, aiokafka's codecs on recorded frames, CPU µs per
record): a live feed of 10,000 frames/s over 8 partitions makes batches of one to three frames,
where lz4 costs less at both ends: at 2 frames per batch it encodes in 7.1 µs per record against
13.6 and decodes in 3.6 against 8.8, for 253 bytes per record against 205 (frames average 326).
The consumers pay the decoding too: the market engine's librdkafka consumer used 11.7% of a core
at 10k frames/s on zstd input and 4.5% on lz4 (``bench/pipeline.py --pin``). zstd wins only on
large batches (at 32 per batch it encodes in 2.5 µs against 4.5 and packs 90 bytes against 118),
as in a backfill; the live path decides. Needs Kafka ≥ 0.10.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from tradestream.config.settings import Settings


def build_producer(settings: Settings, *, linger_ms: int = 5) -> AIOKafkaProducer:
    """Create (not start) the producer for raw market data."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        compression_type="lz4",
        request_timeout_ms=30_000,
        retry_backoff_ms=100,
    )


def timestamp_header(name: str, ms: int) -> tuple[str, bytes]:
    """Encode a millisecond timestamp as a Kafka header (ASCII digits)."""
    return name, str(ms).encode()


RECV_TS_HEADER = "recv_ts_ms"
RECV_TS_US_HEADER = "recv_ts_us"
"""Optional µs receive time; the market agent forwards it with ``PRODUCED_TS_US_HEADER``."""
PRODUCED_TS_US_HEADER = "produced_ts_us"
SOURCE_HEADER = "source"
