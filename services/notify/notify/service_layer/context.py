"""What every notify use case is given besides its command and unit of work: the clock's time zone, the
templates, and the rules the settings configure. Built once in ``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from notify.domain.delivery import RetryPolicy
from notify.domain.templates import Catalogue


@dataclass(frozen=True)
class Rules:
    tz: ZoneInfo
    catalogue: Catalogue
    link_base: str = ""
    development: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    follow_up_days: tuple[int, ...] = (1, 3, 7)
    stalled_escalation: timedelta = timedelta(hours=48)
    overdue_escalation_days: int = 7
    routing_role: str = "sales_ops"
    batch: int = 20
