"""nameko worker mixins that read teams' organisation events into the service's projection.

A worker class with ``name`` and ``uow`` (``UnitOfWorkProvider``) inherits them; the handlers keep
the queue names the topology declares (``evt-teams-<type>--<service>.on_user_created`` ...) and the
inbox consumer names ``<service>.on_user_created`` .... Override ``record_org_user`` /
``record_org_department`` to do more in the same transaction (its effect decorated ``@idempotent``).
"""

from __future__ import annotations

from shangji_kit import org_events, org_projection
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import OrgDepartment, OrgUser


class OrgUserEvents:
    """UserCreated, UserUpdated and UserDeactivated into ``uow.org``."""

    name: str

    def record_org_user(self, delivery: Delivery, env: Envelope, user: OrgUser) -> None:
        org_projection.record_user(delivery, self.uow(), user)

    def _org_user(self, method: str, body: dict) -> None:
        with event_context(body) as env:
            self.record_org_user(Delivery(f"{self.name}.{method}", env.id, env.type), env,
                                 org_events.user_from_event(env))

    @event_handler("teams", "shangji.teams.v1.UserCreated")
    def on_user_created(self, body: dict) -> None:
        self._org_user("on_user_created", body)

    @event_handler("teams", "shangji.teams.v1.UserUpdated")
    def on_user_updated(self, body: dict) -> None:
        self._org_user("on_user_updated", body)

    @event_handler("teams", "shangji.teams.v1.UserDeactivated")
    def on_user_deactivated(self, body: dict) -> None:
        self._org_user("on_user_deactivated", body)


class OrgDepartmentEvents:
    """DepartmentChanged into ``uow.org``."""

    name: str

    def record_org_department(self, delivery: Delivery, env: Envelope, department: OrgDepartment) -> None:
        org_projection.record_department(delivery, self.uow(), department)

    @event_handler("teams", "shangji.teams.v1.DepartmentChanged")
    def on_department_changed(self, body: dict) -> None:
        with event_context(body) as env:
            self.record_org_department(Delivery(f"{self.name}.on_department_changed", env.id, env.type), env,
                                       org_events.department_from_event(env))
