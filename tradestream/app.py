"""The one Faust app of tradestream: ``faust -A tradestream.app worker`` runs it.

Values and keys travel as raw bytes; each agent decodes with msgspec where it needs to, which is
several times cheaper than Faust's model codecs on the market-data hot path. ``Settings.roles``
decides what the worker runs: the market engine (a service with its own consumer, see
``agents/market_engine.py``) and the book status agent, the ClickHouse sink agents, or both.
"""

from __future__ import annotations

import faust

from tradestream.config.settings import get_settings
from tradestream.streams import commit_safety, topics

commit_safety.install()  # before any consumer exists: at-least-once across rebalances
settings = get_settings()
commit_safety.allow_gaps(settings.scoped(spec.name) for spec in topics.ALL_TOPICS if spec.compacted)
settings.faust_data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


app = faust.App(
    settings.faust_app_id,
    broker=_broker_url(settings.kafka_bootstrap),
    store="memory://",
    datadir=str(settings.faust_data_dir / "{conf.name}-data"),
    topic_partitions=settings.partitions,
    topic_replication_factor=1,
    key_serializer="raw",
    value_serializer="raw",
    web_host=settings.web_host,
    web_port=settings.web_port,
    web_bind=settings.web_host,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_compression_type="lz4",
    producer_linger_ms=settings.producer_linger_ms,
    stream_buffer_maxsize=settings.stream_buffer_maxsize,
    broker_max_poll_records=settings.broker_max_poll_records,
    broker_session_timeout=settings.broker_session_timeout_s,
    broker_heartbeat_interval=settings.broker_session_timeout_s / 5,
    autodiscover=False,
)

# Register the worker's roles, tables and views on import: the Faust CLI only imports this module.
from tradestream.agents import market_worker, sinks  # noqa: E402
from tradestream.web import views  # noqa: E402

if "market" in settings.roles:
    market_worker.register()
if "sinks" in settings.roles:
    sinks.register()
if settings.trading_parts:
    from tradestream.agents import protection, signals, trading

    trading.register(settings.trading_parts)
    if "positions" in settings.trading_parts:
        from tradestream.agents import trading_positions
        from tradestream.web import positions_views  # noqa: F401 - its pages register on import

        trading_positions.register()
    if "protection" in settings.trading_parts:
        protection.register()
    if "signals" in settings.trading_parts:
        signals.register()

__all__ = ["app", "market_worker", "settings", "sinks", "views"]
