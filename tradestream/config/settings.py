"""Process settings: parsed once from the environment (prefix ``TRADESTREAM_``) at the edge.

Every other module receives a frozen ``Settings`` (or a piece of it) instead of reading
``os.environ`` itself, so a worker's configuration is visible in one place and validated at start.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, NonNegativeInt, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,30}$|^$")


class Settings(BaseSettings):
    """Where the services are and how this process talks to them."""

    model_config = SettingsConfigDict(
        env_prefix="TRADESTREAM_", env_file=".env", frozen=True, extra="ignore"
    )

    namespace: str = Field(
        default="",
        description="Prefix for topics, consumer group, ClickHouse database and Redis keys, "
        "so several pipelines (or test runs) share one stack without meeting.",
    )
    app_id: str = "tradestream"
    kafka_bootstrap: str = "127.0.0.1:9092"
    partitions: PositiveInt = 8
    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: PositiveInt = 9000
    clickhouse_database: str = "tradestream"
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    postgres_dsn: SecretStr = SecretStr(
        "postgresql://tradestream:tradestream@127.0.0.1:5432/tradestream"
    )
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    web_host: str = "127.0.0.1"
    web_port: PositiveInt = 6066
    config_dir: Path = Path("config")
    sink_batch_size: PositiveInt = 2000
    sink_batch_seconds: float = Field(default=1.0, gt=0)
    book_status_interval_ms: PositiveInt = 1000
    features_interval_ms: int = Field(
        default=100, ge=0, description="Publish a symbol's features at most this often (ms)."
    )
    market_batch_size: PositiveInt = Field(
        default=500, description="Raw frames the market agent takes per batch at most."
    )
    market_batch_ms: float = Field(
        default=1.0,
        gt=0,
        description="How long the market agent waits for a batch to fill (ms): the latency "
        "it may add when frames arrive slower than a batch per wait.",
    )
    producer_linger_ms: NonNegativeInt = Field(
        default=1, description="How long the worker's producer waits to fill a batch (ms)."
    )
    stream_buffer_maxsize: PositiveInt = Field(
        default=4096, description="Events buffered per topic partition before fetching pauses."
    )
    broker_max_poll_records: PositiveInt = Field(
        default=2000, description="Records one consumer fetch returns at most."
    )
    log_level: str = "info"

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(
                "namespace must be empty or start with a lowercase letter followed by "
                "up to 30 lowercase letters, digits or underscores"
            )
        return value

    def scoped(self, name: str, sep: str = ".") -> str:
        """Return ``name`` prefixed with the namespace, if one is set."""
        return f"{self.namespace}{sep}{name}" if self.namespace else name

    @property
    def group_id(self) -> str:
        """Name the Faust app (and so its consumer group and changelog topics)."""
        return self.scoped(self.app_id)

    @property
    def clickhouse_db(self) -> str:
        """Name the ClickHouse database of this namespace."""
        return self.scoped(self.clickhouse_database, sep="_")

    @property
    def dlq_stream(self) -> str:
        """Name the Redis stream that holds dead letters."""
        return self.scoped("tradestream:dlq", sep=":")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Parse the environment once per process."""
    return Settings()
