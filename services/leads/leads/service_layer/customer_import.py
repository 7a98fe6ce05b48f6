"""Import: a table of customers with their contacts in one transaction. A row's company joins the customer
of the same folded name in its region (an existing one, or the one an earlier row of the file makes);
its contact joins that customer's decision chain unless the chain already holds that phone or email.

Idempotent by content: each row's key (``table_import.row_request_id``) is remembered in
``idempotency_keys`` under the operation ``ImportCustomers`` for any caller, so the same rows sent again
(by whoever, from whatever file) do nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from leads.domain import customer_import, customers
from leads.service_layer.callers import check_new_owner
from leads.service_layer.conflicts import who_to_ask
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, table_import

OPERATION = "ImportCustomers"
# The command: a table, the owner of what it makes, all_or_nothing.
ImportCustomers = table_import.ImportTable


@dataclass
class _Target:
    """The customer a group of rows joins, and what the import does to it."""

    customer: customers.Customer
    new: bool
    chain: list[customers.Contact]
    # Why rows of this company are refused (a customer the caller may not change); None when they may.
    refusal: str | None = None
    added: list[customers.Contact] = field(default_factory=list)
    used: bool = False


def import_customers(cmd: ImportCustomers, caller_id: str | None, uow: LeadsUnitOfWork,
                     now: datetime | None = None) -> customer_import.CustomersImportReport:
    """Import customers and contacts in one transaction; every rejected row reported by column. A company that
    is an existing customer the caller may not change (not its owner, a manager above them or sales ops) is
    rejected on ``company``. ``all_or_nothing``: any rejected row writes nothing. ``caller_id`` None: an
    operator's import (the CLI), trusted to name any owner and to add to any customer."""
    caller_id = caller.user_id(caller_id) if caller_id is not None else None
    positions, owner_id = table_import.checked_header(customer_import.COLUMNS, cmd.columns, cmd.rows, owner=cmd.owner,
                                                      caller_id=caller_id)
    now = now or datetime.now(UTC)
    report = customer_import.CustomersImportReport(content_sha256=table_import.content_sha256(cmd.columns, cmd.rows))
    with uow:
        if caller_id is not None and owner_id != caller_id:
            check_new_owner(uow, caller_id, owner_id, "owner")
        grades = tuple(g for g, _ in uow.pool_settings.scoring().customer_grades)
        parsed: list[customer_import.CustomerRow] = []
        for row_number, values in cmd.rows:
            if table_import.is_blank(values):
                continue
            result = customer_import.parse_row(row_number, values, positions, grades)
            if isinstance(result, list):
                report.rejections.extend(result)
            else:
                parsed.append(result)
        if cmd.all_or_nothing and report.rejections:
            return report
        viewer = uow.org.viewer(caller_id) if caller_id is not None else None
        targets: dict[tuple[str, str], _Target] = {}
        for row in parsed:
            key = table_import.row_key(OPERATION, report.content_sha256, row.row_number)
            if uow.request_ids.find(key) is not None:
                report.already_imported += 1
                continue
            target = targets.get(row.keys)
            if target is None:
                target = targets[row.keys] = _target(uow, row, owner_id, caller_id, viewer, grades, now)
            if target.refusal:
                report.rejections.append(table_import.Rejection(row.row_number, "company", target.refusal))
                continue
            if uow.request_ids.claim(key, target.customer.id) is not None:
                report.already_imported += 1  # a concurrent import of the same content committed it meanwhile
                continue
            target.used = True
            if not target.new:
                report.customers_matched += 1
            if row.contact and not any(customers.same_person(c, row.contact["phone"], row.contact["email"])
                                       for c in target.chain):
                # Distinct times keep the chain (oldest first) in the file's order.
                contact = customers.new_contact(id=str(uuid.uuid4()), customer_id=target.customer.id,
                                                values=row.contact,
                                                now=now + timedelta(microseconds=report.contacts_created))
                target.chain.append(contact)
                target.added.append(contact)
                report.contacts_created += 1
        if cmd.all_or_nothing and report.rejections:
            return report  # leaving the unit of work rolls the claims back
        for target in targets.values():
            _write(uow, target, now)
            report.customers_created += int(target.new and target.used)
        report.committed = True
        uow.commit()
    return report


def _target(uow: LeadsUnitOfWork, row: customer_import.CustomerRow, owner_id: str, caller_id: str | None,
            viewer, grades: tuple[str, ...], now: datetime) -> _Target:
    """The customer rows of this company join: the existing one (locked), else a new one made from this row."""
    # Serialises imports, conversions and creates of one company in a region until commit.
    uow.customers.lock_key(*row.keys)
    existing = uow.customers.find_by_key(*row.keys)
    if existing is None:
        customer = customers.new_customer(id=str(uuid.uuid4()), values=row.customer,
                                          owner_id=owner_id, grades=grades, now=now)
        return _Target(customer, new=True, chain=[])
    target = _Target(existing, new=False, chain=list(uow.customers.chain(existing.id)))
    if viewer is None or existing.owner_id == caller_id or viewer.sees_everything \
            or uow.org.manages(viewer, existing.owner_id):
        return target
    if uow.customers.get(existing.id, viewer) is not None:
        target.refusal = (f"{existing.name} already is this company; only its owner, a manager above them or "
                          f"sales ops may add to it")
    else:
        # One the caller may not see is not named: whom to ask about it is.
        target.refusal = (f"a customer you may not see already is this company; ask "
                          f"{who_to_ask(uow, existing.owner_id)}")
    return target


def _write(uow: LeadsUnitOfWork, target: _Target, now: datetime) -> None:
    if not target.used:
        return
    customer = target.customer
    if target.new:
        uow.customers.add(customer)
        uow.publish(customer.events)
        customer.events.clear()
    if not target.added:
        return
    for contact in target.added:
        uow.customers.add_contact(contact)
    uow.publish([customers.chain_changed(customer, tuple(target.chain), now)])
    uow.customers.save_chain_revision(customer)
