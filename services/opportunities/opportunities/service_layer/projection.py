"""What other services tell us, kept for our rules: opportunity teams (visibility, edit rights), handovers of a
leaver's deals, and leads' customers (who owns each, and its latest decision chain). Each event use case runs once per
event (the kit's ``@idempotent``: claimed in the inbox and committed with its effect). Teams' organisation is the
kit's (``shangji_kit.org_projection``, fed by the worker's ``OrgUserEvents`` / ``OrgDepartmentEvents``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opportunities.domain import audit, model
from opportunities.domain.decision_chain import DealContact
from opportunities.service_layer.deals import new_id, record_changes
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit.inbox import idempotent


def consumer(method: str) -> str:
    """The inbox consumer name of a worker handler (the kit's org handlers use the same form)."""
    return f"opportunities.{method}"


USER_CREATED_CONSUMER = consumer("on_user_created")
USER_UPDATED_CONSUMER = consumer("on_user_updated")
USER_DEACTIVATED_CONSUMER = consumer("on_user_deactivated")
DEPARTMENT_CHANGED_CONSUMER = consumer("on_department_changed")
OWNERSHIP_TRANSFERRED_CONSUMER = consumer("on_ownership_transferred")
TEAM_MEMBER_ADDED_CONSUMER = consumer("on_team_member_added")
TEAM_MEMBER_REMOVED_CONSUMER = consumer("on_team_member_removed")
CUSTOMER_CHAIN_CONSUMER = consumer("on_customer_decision_chain_changed")
CUSTOMER_CREATED_CONSUMER = consumer("on_customer_created")
CUSTOMER_UPDATED_CONSUMER = consumer("on_customer_updated")


@dataclass(frozen=True)
class RemoveTeamMember:
    opportunity_id: str
    user_id: str


@dataclass(frozen=True)
class TransferOwnership:
    transfer_id: str
    from_user_id: str
    to_user_id: str
    transfer_time: datetime | None = None


@idempotent(TEAM_MEMBER_ADDED_CONSUMER, skipped=False)
def add_team_member(uow: OpportunitiesUnitOfWork, member: model.TeamMember) -> bool:
    """Put a person on a deal's team; someone already on it stays as they are. False when nothing changed."""
    return uow.teams.add(member)


@idempotent(TEAM_MEMBER_REMOVED_CONSUMER, skipped=False)
def remove_team_member(uow: OpportunitiesUnitOfWork, cmd: RemoveTeamMember) -> bool:
    """Take a person off a deal's team. False when nothing changed."""
    return uow.teams.remove(cmd.opportunity_id, cmd.user_id)


@idempotent(OWNERSHIP_TRANSFERRED_CONSUMER, skipped=[])
def transfer_ownership(uow: OpportunitiesUnitOfWork, cmd: TransferOwnership, now: datetime) -> list[str]:
    """Hand every open deal of ``from_user`` to ``to_user`` (won and lost deals stay), recording each move
    under the transfer id, with the leaver's open tasks on those deals, and a "handover" entry in each deal's audit
    trail; the ids of the deals moved ([] for a redelivery)."""
    if cmd.from_user_id == cmd.to_user_id:
        return []
    when = cmd.transfer_time or now
    moved = uow.deals.transfer_open(cmd.from_user_id, cmd.to_user_id, cmd.transfer_id, when, now)
    uow.tasks.move_open(moved, cmd.from_user_id, cmd.to_user_id)
    # The set-based move changes the owner only (stage and the rest stay), so that is the snapshot diffed.
    before, after = {"owner": f"users/{cmd.from_user_id}"}, {"owner": f"users/{cmd.to_user_id}"}
    cause = audit.Cause(audit.HANDOVER, None, f"ownership transfer {cmd.transfer_id}")
    record_changes(uow, [audit.record(new_id(), deal_id, before, after, cause, when) for deal_id in moved])
    return moved


@dataclass(frozen=True)
class CustomerChain:
    customer_id: str
    revision: int
    contacts: tuple[DealContact, ...]
    change_time: datetime | None = None


@idempotent(CUSTOMER_CHAIN_CONSUMER, skipped=False)
def record_customer_chain(uow: OpportunitiesUnitOfWork, chain: CustomerChain) -> bool:
    """Keep a customer's latest decision chain (the highest revision wins; an older one changes nothing), copied
    onto deals registered for that customer later. False when nothing changed."""
    return uow.customers.apply_chain(chain.customer_id, chain.revision, list(chain.contacts), chain.change_time)


@dataclass(frozen=True)
class CustomerOwner:
    customer_id: str
    owner_id: str
    update_time: datetime


def _record_customer_owner(uow: OpportunitiesUnitOfWork, owner: CustomerOwner) -> bool:
    """Keep who owns a leads customer (the newest state wins), so RegisterOpportunity can tell who may name it.
    False when nothing changed."""
    return uow.customers.apply_owner(owner.customer_id, owner.owner_id, owner.update_time)


record_customer_created = idempotent(CUSTOMER_CREATED_CONSUMER, skipped=False)(_record_customer_owner)
record_customer_updated = idempotent(CUSTOMER_UPDATED_CONSUMER, skipped=False)(_record_customer_owner)
