"""Settings from environment variables, with development defaults.

Every variable the suite reads is declared here, once, with its meaning. A service asks for
``Settings.for_service("leads")`` and gets its own database URL, gRPC port and queue prefix.

| variable | meaning | default |
| --- | --- | --- |
| SHANGJI_PG_DSN | server DSN; the database name is set per service | postgresql://postgres@127.0.0.1:5432/postgres |
| SHANGJI_<SERVICE>_DATABASE_URL | full URL of one service's database (overrides the above) | derived |
| SHANGJI_DB_PREFIX | prefix of every database name (tests use their own) | "" |
| SHANGJI_AMQP_URI | RabbitMQ URI | amqp://guest:guest@127.0.0.1:5672/ |
| SHANGJI_<SERVICE>_GRPC_PORT | port of the service's gRPC front | see GRPC_PORTS |
| SHANGJI_GRPC_HOST | host the fronts bind to and clients dial | 127.0.0.1 |
| SHANGJI_<SERVICE>_GRPC_TARGET | where clients dial that service's front, e.g. `opportunities:50053` | host:port |
| SHANGJI_GRPC_THREADS | worker threads of a gRPC front | 16 |
| SHANGJI_EXPORTS_AT_ONCE | export streams a front process serves at once (each holds a thread); more: UNAVAILABLE | 4 |
| SHANGJI_DB_POOL_IDLE | database connections a process keeps open when idle, per database | its pool size |
| SHANGJI_GRPC_PROCESSES | processes of a gRPC front sharing its port (SO_REUSEPORT); one GIL each | 1 |
| SHANGJI_JWT_ALGORITHMS | accepted JWT algorithms, comma separated | HS256 |
| SHANGJI_JWT_SECRET | HS256 shared key (development only) | shangji-development-only-secret-change-me-in-production |
| SHANGJI_JWT_JWKS_FILE | path of a JWKS file with RS256/ES256 public keys | unset |
| SHANGJI_JWT_AUDIENCE | expected `aud` claim, when set | unset |
| SHANGJI_JWT_ISSUER | expected `iss` claim, when set | unset |
| SHANGJI_ENV | `development`, else: no public JWT secret, https robots, no dev sign-in | development |
| SHANGJI_JWT_ALLOW_HS256 | keep HS256 on when a JWKS file (RS256/ES256) is configured | false |
| SHANGJI_JWT_TRUST_ROLE_CLAIMS | honour the token's `roles` claim (SECURITY.md) | true in development |
| SHANGJI_AUTH_CACHE_SECONDS | a front's cache of "this subject is an active user"; bounds deactivation | 5 |
| SHANGJI_AUTH_GRACE_SECONDS | an unknown subject is looked up again this long before UNAUTHENTICATED | 2 |
| SHANGJI_DB_CONNECTION_BUDGET | PostgreSQL connections one running suite may hold; pools sized from it | 30 |
| SHANGJI_DB_POOL_MAX | exact pool size of this process, overriding its share of the budget | unset |
| SHANGJI_RELAY_POLL_SECONDS | relay's polling fallback when no NOTIFY arrives | 1.0 |
| SHANGJI_RELAY_BATCH | outbox rows claimed per relay round | 200 |
| SHANGJI_RELAY_LINGER_MS | relay's wait after a wake-up for more commits to batch (adds this to event latency) | 2 |
| SHANGJI_CONSUMER_MAX_ATTEMPTS | deliveries of a failing event before it is dead-lettered | 5 |
| SHANGJI_CONSUMER_RETRY_BASE_MS | first retry delay; doubles each attempt, full jitter | 200 |
| SHANGJI_CONSUMER_PREFETCH | unacked messages per worker | 10 |
| SHANGJI_HEALTH_INTERVAL_SECONDS | how often a front checks its database for readiness | 2.0 |
| SHANGJI_DRAIN_SECONDS | grace period for in-flight calls on SIGTERM | 20 |
| SHANGJI_LOG_LEVEL | log level | INFO |
| SHANGJI_METRICS_PORT | port of the process's Prometheus /metrics endpoint; unset: none (`metrics.py`) | unset |
| SHANGJI_METRICS_HOST | address the metrics endpoint binds | 0.0.0.0 |
| SHANGJI_TLS_CERT_FILE, SHANGJI_TLS_KEY_FILE | a front's TLS certificate and key (PEM); unset: plaintext | unset |
| SHANGJI_TLS_CLIENT_CA_FILE | with the above: CA that client certificates must chain to (mutual TLS) | unset |
| SHANGJI_TLS_CA_FILE | clients: CA the fronts' certificates chain to; set: clients use TLS | unset |
| SHANGJI_TLS_CLIENT_CERT_FILE, SHANGJI_TLS_CLIENT_KEY_FILE | clients: certificate presented for mutual TLS | unset |
| SHANGJI_TLS_SERVER_NAME | clients: name to check in the fronts' certificates instead of the target host | unset |
| OTEL_EXPORTER_OTLP_ENDPOINT | OTLP/HTTP collector for traces (with the other OTEL_* variables); unset: none | unset |
| SHANGJI_HEARTBEAT_FILE | file a worker's loop touches (liveness, `heartbeat.py`) | /tmp/shangji-worker.heartbeat |
| SHANGJI_ACCESS_LOG | one log line per RPC (true/false) | true |
| SHANGJI_ERP_URL | the ERP's base URL (Tryton: JSON-RPC at `{url}/{database}/rpc/`) | http://127.0.0.1:8000 |
| SHANGJI_ERP_DATABASE | the ERP's database | shangji_erp |
| SHANGJI_ERP_USER | the bridge's ERP login | shangji_bridge |
| SHANGJI_ERP_PASSWORD | its password (dev default: the test Tryton's) | shangji-bridge-dev-pw-8f3a |
| SHANGJI_ERP_TIMEOUT_SECONDS | timeout of one ERP call | 10 |
| SHANGJI_ERP_MAX_ATTEMPTS | attempts at an order before it is dead-lettered | 8 |
| SHANGJI_ERP_RETRY_BASE_SECONDS | first retry delay; doubles each attempt, full jitter | 2 |
| SHANGJI_ERP_RETRY_MAX_SECONDS | longest retry delay | 300 |
| SHANGJI_ERP_SCAN_SECONDS | how often the bridge's worker looks for due orders | 1.0 |
| SHANGJI_ERP_FAULT | test-only fault switch: `exit_after_create` ends the worker right after the ERP's create | unset |
| SHANGJI_SMTP_HOST / _PORT | notify's mail relay | 127.0.0.1 / 25 |
| SHANGJI_SMTP_TLS | `none`, `starttls` or `ssl` (implicit TLS) | none |
| SHANGJI_SMTP_USER / _PASSWORD | SMTP login, when set | unset |
| SHANGJI_SMTP_FROM | notify's sender address | shangji@localhost |
| SHANGJI_SMTP_CA_FILE | a CA file to trust for the relay's certificate | system store |
| SHANGJI_NOTIFY_LINK_BASE | base URL of links to records in notices (`{base}/{subject}`) | unset (no links) |
| SHANGJI_NOTIFY_MAX_ATTEMPTS | attempts at one delivery before it is dead | 8 |
| SHANGJI_NOTIFY_RETRY_BASE_SECONDS | first retry delay of a delivery; doubles, jittered, at most an hour | 10 |
| SHANGJI_NOTIFY_POLL_SECONDS | how often each channel's worker and the reminder scan look for due work | 1.0 |
| SHANGJI_NOTIFY_MAX_STREAMS | open StreamNotifications calls per front process (each holds a thread) | 8 |
| SHANGJI_NOTIFY_FOLLOW_UP_DAYS | follow-up reminders, days after a deal is registered or a lead claimed | 1,3,7 |
| SHANGJI_NOTIFY_STALLED_ESCALATION_HOURS | a stalled deal still not moved after this goes to the department head | 48 |
| SHANGJI_NOTIFY_OVERDUE_ESCALATION_DAYS | a close date passed by more than this also tells the manager | 7 |
| SHANGJI_NOTIFY_ROUTING_ROLE | role told of deals without an owner (arbiters when no head) | sales_ops |
| SHANGJI_COMPANY_TIMEZONE | company time zone: days, periods, quiet hours (`company_time.py`) | Asia/Shanghai |
| SHANGJI_WEB_HOST | address the web console's HTTP backend binds | 127.0.0.1 |
| SHANGJI_WEB_PORT | its port | 8080 |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

SERVICES = ("teams", "leads", "opportunities", "samples", "notify", "erp_bridge")

GRPC_PORTS = {
    "teams": 50051,
    "leads": 50052,
    "opportunities": 50053,
    "samples": 50054,
    "notify": 50055,
    "erp_bridge": 50056,
}


def env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


DEVELOPMENT = "development"
# Public in this repository: good for nothing but development (SECURITY.md).
DEV_JWT_SECRET = "shangji-development-only-secret-change-me-in-production"


class UnsafeConfiguration(RuntimeError):
    """A process refuses to start with settings that would let anyone in."""


def flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes", "on")


def environment() -> str:
    return env("SHANGJI_ENV", DEVELOPMENT).lower()


def server_dsn() -> str:
    return env("SHANGJI_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def amqp_uri() -> str:
    return env("SHANGJI_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def database_name(service: str) -> str:
    return env("SHANGJI_DB_PREFIX", "") + service


def with_database(dsn: str, database: str) -> str:
    """The same server DSN pointing at another database, as a SQLAlchemy psycopg URL."""
    parts = urlsplit(dsn)
    scheme = "postgresql+psycopg"
    return urlunsplit((scheme, parts.netloc, "/" + database, parts.query, ""))


def database_url(service: str) -> str:
    override = os.environ.get(f"SHANGJI_{service.upper()}_DATABASE_URL")
    if override:
        return override
    return with_database(server_dsn(), database_name(service))


def grpc_host() -> str:
    return env("SHANGJI_GRPC_HOST", "127.0.0.1")


def grpc_port(service: str) -> int:
    return int(env(f"SHANGJI_{service.upper()}_GRPC_PORT", str(GRPC_PORTS[service])))


def grpc_target(service: str) -> str:
    """Where a client dials ``service``: the override, else the bind host and port (one machine)."""
    override = os.environ.get(f"SHANGJI_{service.upper()}_GRPC_TARGET")
    return override or f"{grpc_host()}:{grpc_port(service)}"


def exports_at_once() -> int:
    """Export streams one front process serves at the same time (``shangji_kit.rpc.export``)."""
    return max(1, int(env("SHANGJI_EXPORTS_AT_ONCE", "4")))


def web_address() -> tuple[str, int]:
    """Where the web console listens."""
    return env("SHANGJI_WEB_HOST", "127.0.0.1"), int(env("SHANGJI_WEB_PORT", "8080"))


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    amqp_uri: str
    grpc_host: str
    grpc_port: int
    grpc_threads: int
    grpc_processes: int
    jwt_algorithms: tuple[str, ...]
    jwt_secret: str
    jwt_jwks_file: str | None
    jwt_audience: str | None
    jwt_issuer: str | None
    relay_poll_seconds: float
    relay_batch: int
    relay_linger_seconds: float
    consumer_max_attempts: int
    consumer_retry_base_ms: int
    consumer_prefetch: int
    health_interval_seconds: float
    drain_seconds: float
    log_level: str
    access_log: bool
    environment: str = "development"
    jwt_allow_hs256: bool = False
    jwt_trust_role_claims: bool = True
    auth_cache_seconds: float = 5.0
    auth_grace_seconds: float = 2.0

    @property
    def hs256_enabled(self) -> bool:
        """HS256 is accepted when listed, unless RS256/ES256 keys are configured and it is not allowed on purpose."""
        return "HS256" in self.jwt_algorithms and (self.jwt_jwks_file is None or self.jwt_allow_hs256)

    def refuse_unsafe(self) -> None:
        """Outside development, the public development secret must not open the suite."""
        if self.environment != DEVELOPMENT and self.hs256_enabled and self.jwt_secret == DEV_JWT_SECRET:
            raise UnsafeConfiguration(
                f"SHANGJI_ENV={self.environment} with HS256 and the public development secret: set "
                "SHANGJI_JWT_SECRET, or configure RS256/ES256 keys (SHANGJI_JWT_JWKS_FILE, SHANGJI_JWT_ALGORITHMS)")

    @classmethod
    def for_service(cls, service: str) -> Settings:
        """The settings of one service's processes; refuses (UnsafeConfiguration) an unsafe production setup,
        so no front or worker can start with it."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        made = cls._read(service)
        made.refuse_unsafe()
        return made

    @classmethod
    def _read(cls, service: str) -> Settings:
        return cls(
            service=service,
            database_url=database_url(service),
            amqp_uri=amqp_uri(),
            grpc_host=grpc_host(),
            grpc_port=grpc_port(service),
            grpc_threads=int(env("SHANGJI_GRPC_THREADS", "16")),
            grpc_processes=max(1, int(env("SHANGJI_GRPC_PROCESSES", "1"))),
            jwt_algorithms=tuple(a.strip() for a in env("SHANGJI_JWT_ALGORITHMS", "HS256").split(",")),
            jwt_secret=env("SHANGJI_JWT_SECRET", DEV_JWT_SECRET),
            jwt_jwks_file=os.environ.get("SHANGJI_JWT_JWKS_FILE") or None,
            jwt_audience=os.environ.get("SHANGJI_JWT_AUDIENCE") or None,
            jwt_issuer=os.environ.get("SHANGJI_JWT_ISSUER") or None,
            relay_poll_seconds=float(env("SHANGJI_RELAY_POLL_SECONDS", "1.0")),
            relay_batch=int(env("SHANGJI_RELAY_BATCH", "200")),
            relay_linger_seconds=float(env("SHANGJI_RELAY_LINGER_MS", "2")) / 1000,
            consumer_max_attempts=int(env("SHANGJI_CONSUMER_MAX_ATTEMPTS", "5")),
            consumer_retry_base_ms=int(env("SHANGJI_CONSUMER_RETRY_BASE_MS", "200")),
            consumer_prefetch=int(env("SHANGJI_CONSUMER_PREFETCH", "10")),
            health_interval_seconds=float(env("SHANGJI_HEALTH_INTERVAL_SECONDS", "2.0")),
            drain_seconds=float(env("SHANGJI_DRAIN_SECONDS", "20")),
            log_level=env("SHANGJI_LOG_LEVEL", "INFO"),
            access_log=flag("SHANGJI_ACCESS_LOG", True),
            environment=environment(),
            jwt_allow_hs256=flag("SHANGJI_JWT_ALLOW_HS256", False),
            jwt_trust_role_claims=flag("SHANGJI_JWT_TRUST_ROLE_CLAIMS", environment() == DEVELOPMENT),
            auth_cache_seconds=float(env("SHANGJI_AUTH_CACHE_SECONDS", "5")),
            auth_grace_seconds=float(env("SHANGJI_AUTH_GRACE_SECONDS", "2")),
        )


@dataclass(frozen=True)
class ErpSettings:
    """erp_bridge's ERP connection and retry budget."""

    url: str
    database: str
    user: str
    password: str
    timeout_seconds: float
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    scan_seconds: float
    fault: str

    @classmethod
    def from_env(cls) -> ErpSettings:
        return cls(
            url=env("SHANGJI_ERP_URL", "http://127.0.0.1:8000"),
            database=env("SHANGJI_ERP_DATABASE", "shangji_erp"),
            user=env("SHANGJI_ERP_USER", "shangji_bridge"),
            password=env("SHANGJI_ERP_PASSWORD", "shangji-bridge-dev-pw-8f3a"),
            timeout_seconds=float(env("SHANGJI_ERP_TIMEOUT_SECONDS", "10")),
            max_attempts=int(env("SHANGJI_ERP_MAX_ATTEMPTS", "8")),
            retry_base_seconds=float(env("SHANGJI_ERP_RETRY_BASE_SECONDS", "2")),
            retry_max_seconds=float(env("SHANGJI_ERP_RETRY_MAX_SECONDS", "300")),
            scan_seconds=float(env("SHANGJI_ERP_SCAN_SECONDS", "1.0")),
            fault=env("SHANGJI_ERP_FAULT", ""),
        )


@dataclass(frozen=True)
class NotifySettings:
    """notify's channels, retry budget and reminder rules."""

    development: bool
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_ca_file: str
    link_base: str
    max_attempts: int
    retry_base_seconds: float
    poll_seconds: float
    max_streams: int
    follow_up_days: tuple[int, ...]
    stalled_escalation_hours: float
    overdue_escalation_days: int
    routing_role: str

    @classmethod
    def from_env(cls) -> NotifySettings:
        return cls(
            development=environment() == DEVELOPMENT,
            smtp_host=env("SHANGJI_SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env("SHANGJI_SMTP_PORT", "25")),
            smtp_tls=env("SHANGJI_SMTP_TLS", "none"),
            smtp_user=env("SHANGJI_SMTP_USER", ""),
            smtp_password=env("SHANGJI_SMTP_PASSWORD", ""),
            smtp_from=env("SHANGJI_SMTP_FROM", "shangji@localhost"),
            smtp_ca_file=env("SHANGJI_SMTP_CA_FILE", ""),
            link_base=env("SHANGJI_NOTIFY_LINK_BASE", ""),
            max_attempts=int(env("SHANGJI_NOTIFY_MAX_ATTEMPTS", "8")),
            retry_base_seconds=float(env("SHANGJI_NOTIFY_RETRY_BASE_SECONDS", "10")),
            poll_seconds=float(env("SHANGJI_NOTIFY_POLL_SECONDS", "1.0")),
            max_streams=int(env("SHANGJI_NOTIFY_MAX_STREAMS", "8")),
            follow_up_days=tuple(int(d) for d in env("SHANGJI_NOTIFY_FOLLOW_UP_DAYS", "1,3,7").split(",") if d.strip()),
            stalled_escalation_hours=float(env("SHANGJI_NOTIFY_STALLED_ESCALATION_HOURS", "48")),
            overdue_escalation_days=int(env("SHANGJI_NOTIFY_OVERDUE_ESCALATION_DAYS", "7")),
            routing_role=env("SHANGJI_NOTIFY_ROUTING_ROLE", "sales_ops"),
        )
