"""What other services tell us, kept for our rules: teams' organisation and opportunity teams (visibility, edit
rights), handovers of a leaver's deals, and leads' customers (who owns each, and its latest decision chain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opportunities.domain import model
from opportunities.domain.decision_chain import DealContact
from shangji_kit import visibility
from shangji_kit.inbox import Delivery

if TYPE_CHECKING:
    from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork


def consumer(method: str) -> str:
    return f"opportunities.{method}"


USER_CREATED_CONSUMER = consumer("on_user_created")

USER_UPDATED_CONSUMER = consumer("on_user_updated")

USER_DEACTIVATED_CONSUMER = consumer("on_user_deactivated")

DEPARTMENT_CHANGED_CONSUMER = consumer("on_department_changed")

OWNERSHIP_TRANSFERRED_CONSUMER = consumer("on_ownership_transferred")

TEAM_MEMBER_ADDED_CONSUMER = consumer("on_team_member_added")

TEAM_MEMBER_REMOVED_CONSUMER = consumer("on_team_member_removed")

CUSTOMER_CHAIN_CONSUMER = "opportunities.on_customer_decision_chain_changed"

CUSTOMER_CREATED_CONSUMER = "opportunities.on_customer_created"

CUSTOMER_UPDATED_CONSUMER = "opportunities.on_customer_updated"


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

def record_user(user: visibility.OrgUser, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """A user's state from teams (created, updated, deactivated); an older state than the one held is ignored.
    False when this delivery was already handled."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_user(user)
        uow.commit()
        return True

def record_department(department: visibility.OrgDepartment, delivery: Delivery,
                      uow: OpportunitiesUnitOfWork) -> bool:
    """A department's state from teams; an older state than the one held is ignored."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True

def add_team_member(member: model.TeamMember, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Put a person on a deal's team; someone already on it stays as they are. False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        added = uow.teams.add(member)
        uow.commit()
        return added

def remove_team_member(cmd: RemoveTeamMember, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Take a person off a deal's team. False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        removed = uow.teams.remove(cmd.opportunity_id, cmd.user_id)
        uow.commit()
        return removed

def transfer_ownership(cmd: TransferOwnership, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> list[str]:
    """Hand every open deal of ``from_user`` to ``to_user`` (won and lost deals stay), recording each move
    under the transfer id; the ids of the deals moved ([] for a redelivery)."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim(delivery):
            return []
        moved = []
        if cmd.from_user_id != cmd.to_user_id:
            moved = uow.deals.transfer_open(cmd.from_user_id, cmd.to_user_id, cmd.transfer_id,
                                                    cmd.transfer_time or now, now)
        uow.commit()
        return moved


@dataclass(frozen=True)
class CustomerChain:
    customer_id: str
    revision: int
    contacts: tuple[DealContact, ...]
    change_time: datetime | None = None

def record_customer_chain(chain: CustomerChain, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Keep a customer's latest decision chain (the highest revision wins; an older one changes nothing), copied
    onto deals registered for that customer later. False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        kept = uow.customers.apply_chain(chain.customer_id, chain.revision, list(chain.contacts),
                                               chain.change_time)
        uow.commit()
        return kept

@dataclass(frozen=True)
class CustomerOwner:
    customer_id: str
    owner_id: str
    update_time: datetime

def record_customer_owner(owner: CustomerOwner, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Keep who owns a leads customer (the newest state wins), so RegisterOpportunity can tell who may name it.
    False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        kept = uow.customers.apply_owner(owner.customer_id, owner.owner_id, owner.update_time)
        uow.commit()
        return kept
