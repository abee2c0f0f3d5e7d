"""The Kafka producer every raw-data writer uses: durable and ordered per key.

``acks=all`` with idempotence means a retried batch is never written twice and never reordered
within a partition; linger and compression batch small frames into few requests.

zstd rather than lz4: on batches of recorded Bybit frames aiokafka's lz4 (level 9) compresses
~87 MB/s to 4.4:1 and zstd (level 3) ~230 MB/s to 5.8:1, so zstd costs a third of the CPU
(~6% of a core less at 25k frames/s) and a quarter less disk. Needs Kafka ≥ 2.1.
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
        compression_type="zstd",
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
