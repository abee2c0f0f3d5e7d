"""Process settings: parsed once from the environment (prefix ``TRADESTREAM_``) at the edge.

Every other module receives a frozen ``Settings`` (or a piece of it) instead of reading
``os.environ`` itself, so a worker's configuration is visible in one place and validated at start.
"""

from __future__ import annotations

import re
import tempfile
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tradestream.core.candles.candle import INTERVALS_S

Role = Literal[
    "market", "sinks", "trading", "risk", "execution", "positions", "protection", "signals"
]
TRADING_PARTS: tuple[Role, ...] = ("risk", "execution", "positions", "protection", "signals")
"""The parts of the trading side; the ``trading`` role is all of them in one worker."""
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
    redis_timeout_s: PositiveFloat = Field(
        default=5.0,
        description="Give up a Redis connect or call after this long (s) and treat Redis as "
        "unreachable: the order path fails closed and retries instead of hanging.",
    )
    web_host: str = "127.0.0.1"
    web_port: PositiveInt = 6066
    config_dir: Path = Path("config")
    sink_batch_size: PositiveInt = 2000
    sink_batch_seconds: float = Field(default=1.0, gt=0)
    book_status_interval_ms: PositiveInt = Field(
        default=5000,
        description="Checkpoint a book's status (last u/seq, top levels) to ``md.book.status`` "
        "at least this often (ms); a change of status goes out at once. Each record costs the "
        "Faust table agent ~0.5 ms: at 1000 ms and 100 symbols that was 5% of a core.",
    )
    book_stale_after_ms: PositiveInt = Field(
        default=5000,
        description="A book silent for longer than this (ms since its last frame was received) "
        "is stale: nothing may trade on it. Judged when read, never frozen in a record.",
    )
    features_interval_ms: int = Field(
        default=100, ge=0, description="Publish a symbol's features at most this often (ms)."
    )
    candle_intervals_s: Annotated[tuple[PositiveInt, ...], NoDecode] = Field(
        default=(1, 5, 60),
        description="Bars the market engine builds from each symbol's trades, in seconds "
        "(comma-separated in the environment; each must divide a day, so bars align to UTC); "
        "published to md.candles with source 'trades'.",
    )
    candle_close_grace_ms: NonNegativeInt = Field(
        default=1000,
        description="Close a quiet symbol's bar once its book frames' exchange time is this far "
        "past the bar's end (a late trade may still be on its way on the trades topic).",
    )
    kline_intervals: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("1", "5", "15", "60"),
        description="Bybit kline intervals ingest subscribes per symbol (``kline.{interval}``, "
        "comma-separated in the environment); their confirmed bars go to md.candles with "
        "source 'exchange'.",
    )
    signal_warmup_bars: NonNegativeInt = Field(
        default=300,
        description="Closed bars per symbol and interval the signal agent fetches from Bybit's "
        "REST kline endpoint before a symbol's first live bar, so indicators start warm "
        "(0: start cold). Best-effort: a failed fetch starts cold.",
    )
    signal_warmup_timeout_s: PositiveFloat = Field(
        default=10.0,
        description="Longest the signal agent waits for one symbol's warm-up fetch (s).",
    )
    market_batch_size: PositiveInt = Field(
        default=2000, description="Raw frames the market engine takes per fetch at most."
    )
    market_batch_ms: PositiveInt = Field(
        default=100,
        description="How long the market engine's fetch waits when nothing has arrived (ms); "
        "a fetch returns as soon as a record is there, so this is idle time, not delay.",
    )
    market_linger_ms: NonNegativeInt = Field(
        default=2,
        description="How long the market engine's producer (librdkafka ``linger.ms``) gathers "
        "outputs into one produce request (0: send at once). Fewer, fuller requests for up to "
        "this much latency.",
    )
    market_producer_batch_sched: bool = Field(
        default=True,
        description="Run the market engine producer's librdkafka threads under Linux's "
        "SCHED_BATCH policy, so that waking them for a new output does not preempt the engine "
        "mid-batch; they send when the engine next waits (no effect off Linux).",
    )
    market_gc_freeze_ms: NonNegativeInt = Field(
        default=5000,
        description="How often the market engine freezes the objects alive (``gc.freeze``) so "
        "that full garbage collections do not scan the books again (0: never).",
    )
    market_commit_interval_ms: PositiveInt = Field(
        default=200, description="How often the market engine commits acknowledged offsets."
    )
    market_partition_fetch_bytes: PositiveInt = Field(
        default=262_144,
        description="Most bytes the market engine's consumer fetches per partition and request; "
        "with ``market_fetch_max_bytes`` it bounds the records buffered ahead (memory).",
    )
    market_fetch_min_bytes: PositiveInt = Field(
        default=32_768,
        description="Bytes the broker gathers before answering the market engine's fetch (or "
        "``market_fetch_max_wait_ms`` passes): more means fewer, larger batches, later.",
    )
    market_fetch_max_wait_ms: PositiveInt = Field(
        default=2, description="Longest the broker holds a fetch waiting for its minimum (ms)."
    )
    market_prefetch_kbytes: PositiveInt = Field(
        default=16_384,
        description="Most KiB of raw records the market engine's consumer (librdkafka) fetches "
        "ahead of processing (memory bound).",
    )
    market_fetch_max_bytes: PositiveInt = Field(
        default=4_194_304, description="Most bytes per fetch request of the market engine."
    )
    roles: Annotated[tuple[Role, ...], NoDecode] = Field(
        default=("market", "sinks"),
        description="What this worker runs: the market engine (and book status table), the "
        "ClickHouse sink agents, or both (comma-separated in the environment); or the trading "
        "side in a worker of its own: ``trading`` (all of it), or some of its parts ``risk``, "
        "``execution``, ``positions`` (with the PostgreSQL records), ``protection``, "
        "``signals``, so that each part can run, fail and restart in a process of its own.",
    )
    trading_mode: Literal["paper", "live"] = Field(
        default="paper",
        description="Where the execution agent sends orders: the in-process paper exchange, "
        "filled against md.book.top, or Bybit through pybit (REST and the private WebSocket) "
        "at ``bybit_rest_url`` / testnet / mainnet, with the API key and secret below.",
    )
    bybit_api_key: SecretStr | None = Field(default=None, description="Bybit API key (live).")
    bybit_api_secret: SecretStr | None = Field(
        default=None, description="Bybit API secret (live); or give ``bybit_api_secret_file``."
    )
    bybit_api_secret_file: Path | None = Field(
        default=None, description="A file holding the Bybit API secret (e.g. a mounted secret)."
    )
    bybit_testnet: bool = Field(default=False, description="Trade on Bybit's testnet (live).")
    bybit_rest_url: str | None = Field(
        default=None,
        description="Bybit REST base URL overriding pybit's (e.g. the simulator's "
        "``http://127.0.0.1:8765``).",
    )
    bybit_private_ws_url: str | None = Field(
        default=None,
        description="Bybit private WebSocket URL overriding pybit's (e.g. the simulator's "
        "``ws://127.0.0.1:8765/v5/private``).",
    )
    execution_concurrency: PositiveInt = Field(
        default=8,
        description="How many order commands the execution agent carries out at once, each "
        "symbol's in order (agents/lanes.py): one exchange round trip (50-200 ms on Bybit) no "
        "longer holds up every other symbol's orders. 1 carries them out one at a time.",
    )
    reconcile_interval_s: float = Field(
        default=10.0,
        gt=0,
        description="Compare open orders, positions and the wallet with the exchange this "
        "often (s); the first pass runs at start, before any order is sent.",
    )
    reconcile_stale_after_s: float = Field(
        default=35.0,
        gt=0,
        description="Stop sending orders when the last successful reconciliation is older "
        "than this (s): a worker that cannot reconcile does not trade.",
    )
    inflight_query_after_s: float = Field(
        default=5.0,
        gt=0,
        description="Query the exchange by orderLinkId about an order sent this long ago (s) "
        "that no report has acknowledged yet (the in-flight check).",
    )
    paper_balance_usdt: Decimal = Field(
        default=Decimal(100000), gt=0, description="The paper account's starting balance."
    )
    protection_tick_interval_s: PositiveFloat = Field(
        default=1.0,
        description="How often the protection agent's timed rules run (s): time-outs, stale "
        "prices, the aged sweep, time stops.",
    )
    protection_clock: Literal["wall", "market", "replay"] = Field(
        default="wall",
        description="The protection agent's time: the wall clock; or each symbol's latest book "
        "top's exchange time run on by the wall clock and never behind it (market: tests move "
        "time forward by publishing later book tops); or that time even when it is behind the "
        "wall clock (replay: a recording from another day keeps its own time).",
    )
    producer_linger_ms: NonNegativeInt = Field(
        default=1, description="How long the worker's producer waits to fill a batch (ms)."
    )
    broker_session_timeout_s: float = Field(
        default=10.0,
        ge=6,
        description="How long the group waits for a silent worker before its partitions go to "
        "the others (s): after a crash, trading on those symbols resumes this much later.",
    )
    stall_check_interval_s: PositiveFloat = Field(
        default=5.0, description="How often a trading worker checks that its inputs are fed (s)."
    )
    stall_exit_after_s: NonNegativeFloat = Field(
        default=30.0,
        description="Exit (status 70, for the supervisor to restart the worker) when an input "
        "partition has waited this long with no progress while no agent was busy; 0 never exits "
        "(agents/stall_watch.py).",
    )
    stream_buffer_maxsize: PositiveInt = Field(
        default=4096, description="Events buffered per topic partition before fetching pauses."
    )
    broker_max_poll_records: PositiveInt = Field(
        default=2000, description="Records one consumer fetch returns at most."
    )
    log_level: str = "info"
    faust_data_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "tradestream-faust",
        description="Where Faust keeps its per-app data folder (tables are in memory and "
        "rebuilt from their changelogs, so nothing there needs to outlive the worker).",
    )

    @model_validator(mode="after")
    def _live_needs_credentials(self) -> Self:
        if self.trading_mode == "live":
            if self.bybit_api_key is None:
                raise ValueError("trading_mode=live needs TRADESTREAM_BYBIT_API_KEY")
            if self.bybit_api_secret is None and self.bybit_api_secret_file is None:
                raise ValueError(
                    "trading_mode=live needs TRADESTREAM_BYBIT_API_SECRET or "
                    "TRADESTREAM_BYBIT_API_SECRET_FILE"
                )
        return self

    def bybit_secret(self) -> SecretStr:
        """Return the Bybit API secret, read from its file when one is given."""
        if self.bybit_api_secret is not None:
            return self.bybit_api_secret
        if self.bybit_api_secret_file is None:
            raise ValueError("no Bybit API secret is configured")
        return SecretStr(self.bybit_api_secret_file.read_text().strip())

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(
                "namespace must be empty or start with a lowercase letter followed by "
                "up to 30 lowercase letters, digits or underscores"
            )
        return value

    @field_validator("roles", "candle_intervals_s", "kline_intervals", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(r.strip() for r in value.split(",") if r.strip())
        return value

    @field_validator("kline_intervals")
    @classmethod
    def _known_klines(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [label for label in value if label not in INTERVALS_S]
        if unknown:
            raise ValueError(f"kline intervals {unknown} are not among {list(INTERVALS_S)}")
        return value

    @field_validator("roles")
    @classmethod
    def _trading_alone(cls, value: tuple[Role, ...]) -> tuple[Role, ...]:
        trading = set(value) & {"trading", *TRADING_PARTS}
        if trading and trading != set(value):
            raise ValueError(
                "the trading side runs in a worker of its own: roles=trading, or some of "
                f"{', '.join(TRADING_PARTS)} (not with market or sinks)"
            )
        if "trading" in trading and len(trading) > 1:
            raise ValueError("roles=trading already runs every trading part: name it alone")
        return value

    @property
    def trading_parts(self) -> frozenset[Role]:
        """Return the parts of the trading side this worker runs (none for market or sinks)."""
        if "trading" in self.roles:
            return frozenset(TRADING_PARTS)
        return frozenset(self.roles) & frozenset(TRADING_PARTS)

    def scoped(self, name: str, sep: str = ".") -> str:
        """Return ``name`` prefixed with the namespace, if one is set."""
        return f"{self.namespace}{sep}{name}" if self.namespace else name

    @property
    def group_id(self) -> str:
        """Name the Faust app (and so its consumer group and changelog topics)."""
        return self.scoped(self.app_id)

    @property
    def market_group_id(self) -> str:
        """Name the market engine's consumer group (its own, beside the Faust app's)."""
        return f"{self.group_id}.market"

    @property
    def risk_group_id(self) -> str:
        """Name the risk loop's consumer group (its own: one member holds the account's inputs)."""
        return f"{self.group_id}.risk"

    @property
    def faust_app_id(self) -> str:
        """Name the Faust app of this worker's roles.

        The sink agents always consume in ``group_id``; a worker without them (market only) runs
        the book status agent in a group of its own, since Faust assumes that every member of a
        group runs the same agents.
        """
        parts = self.trading_parts
        if parts == frozenset(TRADING_PARTS):
            return f"{self.group_id}.trading"
        if parts:  # each set of parts is its own app: its own group, tables and changelogs
            return f"{self.group_id}.trading-" + "-".join(sorted(parts))
        return self.group_id if "sinks" in self.roles else f"{self.group_id}.status"

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
