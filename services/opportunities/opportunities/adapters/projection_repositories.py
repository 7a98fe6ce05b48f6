"""What other services tell us, kept in PostgreSQL: opportunity teams (teams) and leads' customers (owners and
decision chains). Teams' organisation is the kit's ``OrgProjection``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from opportunities.adapters.orm import customer_chains, customer_owners, org, team_members
from opportunities.domain.decision_chain import DealContact
from opportunities.domain.model import TeamMember
from shangji_kit import visibility
from shangji_kit.statements import insert_or_skip

_CONTACT_FIELDS = ("contact_id", "display_name", "title", "phone", "email", "buying_role", "attitude", "satisfaction")


class TeamRepository:
    """Opportunity teams as teams last told us."""

    _INSERT = insert_or_skip(team_members, ["opportunity_id", "user_id", "role", "can_edit", "add_time"],
                             returning="user_id", conflict_columns=["opportunity_id", "user_id"])

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, member: TeamMember) -> bool:
        """False when the person is already on the team (the row is left as it is)."""
        values = {"opportunity_id": member.opportunity_id, "user_id": member.user_id, "role": member.role,
                  "can_edit": member.can_edit, "add_time": member.add_time}
        return self.session.execute(self._INSERT, values).first() is not None

    def remove(self, opportunity_id: str, user_id: str) -> bool:
        stmt = sa.delete(team_members).where(team_members.c.opportunity_id == opportunity_id,
                                             team_members.c.user_id == user_id)
        return self.session.execute(stmt).rowcount == 1

    _GET = sa.select(team_members).where(team_members.c.opportunity_id == sa.bindparam("opportunity_id"),
                                         team_members.c.user_id == sa.bindparam("user_id"))

    def get(self, opportunity_id: str, user_id: str) -> TeamMember | None:
        row = self.session.execute(self._GET, {"opportunity_id": opportunity_id, "user_id": user_id}).first()
        return TeamMember(opportunity_id=row.opportunity_id, user_id=row.user_id, role=row.role,
                          can_edit=row.can_edit, add_time=row.add_time) if row else None

    def roles(self, opportunity_id: str) -> dict[str, str]:
        """role -> the first-added team member with it."""
        rows = self.session.execute(sa.select(team_members.c.role, team_members.c.user_id)
                                    .where(team_members.c.opportunity_id == opportunity_id)
                                    .order_by(team_members.c.add_time.desc()))
        return {r.role: r.user_id for r in rows}


def _typed(table: sa.Table, sql: str, *names: str) -> sa.TextClause:
    """A text statement with ``names`` bound as ``table``'s column types, built once: SQLAlchemy compiles an
    ``INSERT ... ON CONFLICT DO UPDATE`` anew on every call (no cache key), a third of an event's handling here."""
    return sa.text(sql).bindparams(*(sa.bindparam(n, type_=table.c[n].type) for n in names))


# The newest state wins: an older (reordered) event changes nothing, and RETURNING says whether a row was written.
_APPLY_OWNER = _typed(customer_owners, """
    INSERT INTO customer_owners (customer_id, owner_id, update_time) VALUES (:customer_id, :owner_id, :update_time)
    ON CONFLICT (customer_id) DO UPDATE SET owner_id = excluded.owner_id, update_time = excluded.update_time
    WHERE customer_owners.update_time <= excluded.update_time
    RETURNING customer_id""", "customer_id", "owner_id", "update_time")

# The highest revision wins.
_APPLY_CHAIN = _typed(customer_chains, """
    INSERT INTO customer_chains (customer_id, revision, contacts, change_time)
    VALUES (:customer_id, :revision, :contacts, :change_time)
    ON CONFLICT (customer_id) DO UPDATE
    SET revision = excluded.revision, contacts = excluded.contacts, change_time = excluded.change_time
    WHERE customer_chains.revision < excluded.revision
    RETURNING customer_id""", "customer_id", "revision", "contacts", "change_time")


class CustomerRepository:
    """Who owns each of leads' customers, as leads last told us (CustomerCreated / CustomerUpdated)."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def apply_owner(self, customer_id: str, owner_id: str, update_time: datetime) -> bool:
        """Keep the customer's owner unless a newer state is held (reordered events change nothing)."""
        values = {"customer_id": customer_id, "owner_id": owner_id, "update_time": update_time}
        return self.session.execute(_APPLY_OWNER, values).first() is not None

    def visible(self, customer_id: str, viewer: visibility.Viewer) -> bool:
        """Whether ``viewer`` may see the customer by the kit's rule over its owner; False for a customer whose
        owner leads has not told us (unknown customers are refused, not guessed)."""
        stmt = sa.select(sa.literal(True)).where(
            customer_owners.c.customer_id == customer_id,
            visibility.visible_clause(viewer, org, customer_owners.c.owner_id))
        return self.session.execute(stmt).first() is not None

    def chain(self, customer_id: str) -> list[DealContact]:
        """The customer's latest chain as contacts without a deal (ids and times are the copier's to give)."""
        contacts = self.session.execute(sa.select(customer_chains.c.contacts)
                                        .where(customer_chains.c.customer_id == customer_id)).scalar()
        return [DealContact(id="", opportunity_id="", **c) for c in contacts or ()]

    def apply_chain(self, customer_id: str, revision: int, contacts: list[DealContact],
                    change_time: datetime | None) -> bool:
        """Keep the chain when its revision is higher than the one held; False when it is not (left as it is)."""
        values = {"customer_id": customer_id, "revision": revision, "change_time": change_time,
                  "contacts": [{f: getattr(c, f) for f in _CONTACT_FIELDS} for c in contacts]}
        return self.session.execute(_APPLY_CHAIN, values).first() is not None
