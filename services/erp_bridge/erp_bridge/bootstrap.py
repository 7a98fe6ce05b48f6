"""Wiring: the real unit-of-work factory (with the outbound event encoder), the ERP adapter and the retry
policy for this process."""

from __future__ import annotations

import os
from collections.abc import Callable

from erp_bridge.adapters import protomap
from erp_bridge.adapters.tryton import TrytonErp
from erp_bridge.adapters.unit_of_work import SqlErpBridgeUnitOfWork
from erp_bridge.domain.model import RetryPolicy
from shangji_kit import db
from shangji_kit.settings import ErpSettings, Settings

FAULT_EXIT_AFTER_CREATE = "exit_after_create"


def uow_factory(settings: Settings | None = None) -> Callable[[], SqlErpBridgeUnitOfWork]:
    settings = settings or Settings.for_service("erp_bridge")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlErpBridgeUnitOfWork(sessions, protomap.event_to_proto)


def erp(settings: ErpSettings | None = None) -> TrytonErp:
    s = settings or ErpSettings.from_env()
    return TrytonErp(s.url, s.database, s.user, s.password, timeout=s.timeout_seconds)


def retry_policy(settings: ErpSettings | None = None) -> RetryPolicy:
    s = settings or ErpSettings.from_env()
    return RetryPolicy(max_attempts=s.max_attempts, base_seconds=s.retry_base_seconds,
                       max_seconds=s.retry_max_seconds)


def after_create(settings: ErpSettings | None = None) -> Callable[[], None] | None:
    """The test-only fault: the process dies between the ERP's create and its confirm, as a crash would."""
    s = settings or ErpSettings.from_env()
    if s.fault == FAULT_EXIT_AFTER_CREATE:
        return lambda: os._exit(17)
    return None
