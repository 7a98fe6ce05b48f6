"""Registration and routing in PostgreSQL: the company's settings row, the routing rules, and the deals that hold a
customer (for collisions)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from opportunities.adapters.deal_rows import STAGE_OF_DEAL
from opportunities.adapters.orm import opportunities, pipeline_stages, registration_settings, routing_rules
from opportunities.domain.model import OPEN
from opportunities.domain.registration import Holding, RegistrationSettings
from opportunities.domain.routing import RoutingRule


class RegistrationRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def settings(self) -> RegistrationSettings:
        row = self.session.execute(sa.select(registration_settings)).first()
        if row is None:  # migration 0004 seeds it; the defaults otherwise
            return RegistrationSettings()
        return RegistrationSettings(
            protection_days=row.protection_days, collision_mode=row.collision_mode,
            big_deal_threshold=row.big_deal_threshold, version=row.version, update_time=row.update_time,
            updated_by=row.updated_by)

    def big_deal_threshold(self) -> Decimal | None:
        """The amount above which a deal is a big deal; None: no big-deal alerts."""
        return self.session.execute(sa.select(registration_settings.c.big_deal_threshold)).scalar()

    def save_settings(self, settings: RegistrationSettings, expected_version: int) -> bool:
        """Write the settings row back; False when it no longer has ``expected_version`` (a concurrent change)."""
        values = {"protection_days": settings.protection_days, "collision_mode": settings.collision_mode,
                  "big_deal_threshold": settings.big_deal_threshold, "version": settings.version,
                  "update_time": settings.update_time, "updated_by": settings.updated_by}
        done = self.session.execute(sa.update(registration_settings)
                                    .where(registration_settings.c.version == expected_version).values(**values))
        return done.rowcount == 1

    def rules(self) -> list[RoutingRule]:
        rows = self.session.execute(sa.select(routing_rules).order_by(routing_rules.c.position))
        return [RoutingRule(position=r.position, owner_id=r.owner_id, region=r.region, product_line=r.product_line,
                            amount_min=r.amount_min, amount_max=r.amount_max) for r in rows]

    def replace_rules(self, rules: list[RoutingRule]) -> None:
        """The whole ordered list at once (the CLI's load-routing)."""
        self.session.execute(sa.delete(routing_rules))
        if rules:
            self.session.execute(sa.insert(routing_rules), [
                {"position": r.position, "owner_id": r.owner_id, "region": r.region.strip(),
                 "product_line": r.product_line.strip(), "amount_min": r.amount_min, "amount_max": r.amount_max}
                for r in rules])

    def lock_customer(self, customer_key: str) -> None:
        """Serialise registrations for one customer key until the transaction ends, so two concurrent
        registrations cannot both miss each other's collision."""
        self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.func.hashtextextended(sa.literal("opportunities.customer:" + customer_key, sa.Text), 0))))

    def holdings(self, customer_key: str) -> list[Holding]:
        """Every deal registered for this customer key, with whether its stage is open."""
        rows = self.session.execute(
            sa.select(opportunities.c.id, opportunities.c.owner_id, opportunities.c.product_lines,
                      opportunities.c.create_time, opportunities.c.registration_state,
                      (pipeline_stages.c.category == OPEN).label("is_open"))
            .join(pipeline_stages, STAGE_OF_DEAL).where(opportunities.c.customer_key == customer_key))
        return [Holding(opportunity_id=r.id, owner_id=r.owner_id, product_lines=tuple(r.product_lines or ()),
                        create_time=r.create_time, is_open=r.is_open, registration_state=r.registration_state)
                for r in rows]
