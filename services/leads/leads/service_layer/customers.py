"""Customers and contacts: accounts with their decision chain, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from leads.domain import customers, lists
from leads.service_layer import request_ids
from leads.service_layer.callers import check_new_owner
from leads.service_layer.conflicts import who_to_ask
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, fieldmask, names, paging
from shangji_kit.errors import Aborted, AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.list_query import ListQuery, list_query
from shangji_kit.visibility import Viewer


@dataclass(frozen=True)
class CustomerView:
    """A customer with its decision chain, as the API answers it."""

    customer: customers.Customer
    chain: tuple[customers.Contact, ...]


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str


def _grades(uow: LeadsUnitOfWork) -> tuple[str, ...]:
    return tuple(g for g, _ in uow.pool_settings.scoring().customer_grades)


def _page(rows: list, limit: int) -> Page:
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return Page(page, token)


def _editable(uow: LeadsUnitOfWork, customer_id: str, caller_id: str) -> tuple[customers.Customer, Viewer]:
    """The customer, locked, when the caller may change it: its owner, a manager above them, sales ops or
    admin. NOT_FOUND when they may not see it, PERMISSION_DENIED when they see it but may not change it."""
    viewer = uow.org.viewer(caller_id)
    customer = uow.customers.get(customer_id, viewer, for_update=True)
    if customer is None:
        raise NotFound(f"customers/{customer_id}")
    if not (customer.owner_id == caller_id or viewer.sees_everything or uow.org.manages(viewer, customer.owner_id)):
        raise PermissionDenied(f"only the owner of {customer.name}, a manager above them or sales ops may change it",
                               metadata={"resource": customer.name})
    return customer, viewer


def _check_etag(resource, etag: str) -> None:
    if etag and etag != resource.etag:
        raise Aborted(f"{resource.name} has changed (etag {resource.etag}, not {etag}); re-read it",
                      metadata={"resource": resource.name, "etag": resource.etag})


def _refuse_taken_name(uow: LeadsUnitOfWork, customer: customers.Customer, viewer: Viewer) -> None:
    name_key, region_key = customer.keys
    uow.customers.lock_key(name_key, region_key)
    other_id = uow.customers.name_taken(name_key, region_key, customer.id)
    if not other_id:
        return
    said = f"{customer.display_name!r} in region {customer.region!r}"
    if uow.customers.get(other_id, viewer) is not None:
        # Saying which customer lets the rep ask for it instead of holding the same company twice unknowingly.
        raise AlreadyExists(f"customers/{other_id} already is {said}", reason="CUSTOMER_EXISTS",
                            metadata={"resource": f"customers/{other_id}"})
    # One the caller may not see is not named: whom to ask about it is.
    other = uow.customers.get(other_id)
    ask = who_to_ask(uow, other.owner_id if other else None)
    raise AlreadyExists(f"a customer you may not see already is {said}; ask {ask}", reason="CUSTOMER_EXISTS",
                        metadata={"ask": ask})


@dataclass(frozen=True)
class CreateCustomer:
    values: dict[str, str]  # display_name, region, industry, size, grade
    owner: str = ""
    request_id: str = ""


def create_customer(cmd: CreateCustomer, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> CustomerView:
    caller_id = caller.user_id(caller_id)
    with uow:
        # Every bad field at once: the owner's name and the customer's own.
        violations: list[FieldViolation] = request_ids.check(cmd.request_id)
        owner_id = caller_id
        if cmd.owner:
            try:
                owner_id = names.parse(cmd.owner, "users", "customer.owner")
            except InvalidArgument as exc:
                violations += exc.violations
        try:
            customer = customers.new_customer(id=str(uuid.uuid4()), values=cmd.values, owner_id=owner_id,
                                              grades=_grades(uow), now=now)
        except InvalidArgument as exc:
            violations = exc.violations + violations
        if violations:
            raise InvalidArgument(violations)
        if owner_id != caller_id:
            check_new_owner(uow, caller_id, owner_id, "customer.owner")
        # The caller's own request id again (a retry, or a concurrent twin that waits here for the first to
        # commit): the first customer, before its name counts as taken.
        earlier = request_ids.claim(uow, caller_id, "CreateCustomer", cmd.request_id, customer.id)
        if earlier is not None:
            return CustomerView(uow.customers.get(earlier), uow.customers.chain(earlier))
        _refuse_taken_name(uow, customer, uow.org.viewer(caller_id))
        uow.customers.add(customer)
        uow.publish(customer.events)
        uow.commit()
        return CustomerView(customer, ())


def get_customer(customer_id: str, caller_id: str, uow: LeadsUnitOfWork) -> CustomerView:
    caller_id = caller.user_id(caller_id)
    with uow.reading():
        customer = uow.customers.get(customer_id, uow.org.viewer(caller_id))
        if customer is None:
            raise NotFound(f"customers/{customer_id}")
        return CustomerView(customer, uow.customers.chain(customer.id))


def list_customers(caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork, filter_text: str = "",
                   order_by: str = "") -> Page:
    """The customers the caller may see that pass the filter (README, "Lists"), in the order asked."""
    query = customer_list_query(filter_text, order_by, page_token, page_size)
    caller_id = caller.user_id(caller_id)
    with uow.reading():
        return customers_page(uow, uow.org.viewer(caller_id), query)


def customer_list_query(filter_text: str, order_by: str, page_token: str = "", page_size: int = 0) -> ListQuery:
    """INVALID_ARGUMENT on ``filter``, ``order_by`` or ``page_size`` before anything is read."""
    return list_query(filter_text, order_by, page_token, page_size, filter_fields=lists.CUSTOMER_FILTER_FIELDS,
                      order_fields=lists.CUSTOMER_ORDER_FIELDS, default_order=lists.DEFAULT_ORDER)


def customers_page(uow: LeadsUnitOfWork, viewer: Viewer, query: ListQuery) -> Page:
    """One page of the customers ``viewer`` may see, each with its decision chain (inside ``uow``'s transaction)."""
    page = uow.customers.list_visible(viewer, query)
    chains = uow.customers.chains([c.id for c in page.items]) if page.items else {}
    return Page([CustomerView(c, chains[c.id]) for c in page.items], page.next_page_token)


@dataclass(frozen=True)
class UpdateCustomer:
    customer_id: str
    values: dict[str, str]
    update_mask: tuple[str, ...]
    etag: str = ""


def update_customer(cmd: UpdateCustomer, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> CustomerView:
    caller_id = caller.user_id(caller_id)
    mask = fieldmask.check(cmd.update_mask, customers.CUSTOMER_FIELDS)
    with uow:
        # Every bad field at once: the owner's name and the customer's own.
        violations: list[FieldViolation] = []
        new_owner = changes = None
        try:
            changes = customers.clean_customer_fields(
                {k: v for k, v in cmd.values.items() if k in mask and k != "owner"}, _grades(uow))
        except InvalidArgument as exc:
            violations += exc.violations
        if "owner" in mask:
            try:
                new_owner = names.parse(cmd.values.get("owner", ""), "users", "customer.owner")
            except InvalidArgument as exc:
                violations += exc.violations
        if violations:
            raise InvalidArgument(violations)
        customer, viewer = _editable(uow, cmd.customer_id, caller_id)
        _check_etag(customer, cmd.etag)
        if new_owner is not None:
            if new_owner != customer.owner_id:
                check_new_owner(uow, caller_id, new_owner, "customer.owner")
            changes["owner"] = new_owner
        read_version = customer.version
        changed = customers.update_customer(customer, changes, caller_id, now)
        chain = uow.customers.chain(customer.id)
        if changed:
            if {"display_name", "region"} & set(changed):
                _refuse_taken_name(uow, customer, viewer)
            uow.customers.update(customer, read_version)
            uow.publish([customers.CustomerUpdated(customer, chain, changed, caller_id)])
            uow.commit()
        return CustomerView(customer, chain)


# --- contacts -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateContact:
    customer_id: str
    values: dict = field(default_factory=dict)
    request_id: str = ""


def create_contact(cmd: CreateContact, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> customers.Contact:
    """A contact joins the customer's decision chain (CustomerDecisionChainChanged, revision + 1)."""
    caller_id = caller.user_id(caller_id)
    contact = customers.new_contact(id=str(uuid.uuid4()), customer_id=cmd.customer_id, values=cmd.values, now=now)
    with uow:
        customer, _ = _editable(uow, cmd.customer_id, caller_id)
        # Under the customer's lock: a concurrent twin with this request id has committed by now.
        earlier = request_ids.claim(uow, caller_id, "CreateContact", cmd.request_id, contact.id)
        if earlier is not None:
            return uow.customers.get_contact(earlier)
        uow.customers.add_contact(contact)
        uow.publish([customers.chain_changed(customer, uow.customers.chain(customer.id), now)])
        uow.customers.save_chain_revision(customer)
        uow.commit()
        return contact


def list_contacts(customer_id: str, caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork) -> Page:
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    caller_id = caller.user_id(caller_id)
    with uow:
        if uow.customers.get(customer_id, uow.org.viewer(caller_id)) is None:
            raise NotFound(f"customers/{customer_id}")
        return _page(uow.customers.list_contacts(customer_id, limit + 1, after), limit)


@dataclass(frozen=True)
class UpdateContact:
    contact_id: str
    values: dict
    update_mask: tuple[str, ...]
    etag: str = ""


def update_contact(cmd: UpdateContact, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> customers.Contact:
    """Edit a contact (role, attitude, satisfaction ...); a real change re-publishes the customer's chain."""
    caller_id = caller.user_id(caller_id)
    mask = fieldmask.check(cmd.update_mask, customers.CONTACT_FIELDS)
    changes = customers.clean_contact_fields({k: v for k, v in cmd.values.items() if k in mask})
    with uow:
        contact = uow.customers.get_contact(cmd.contact_id)
        if contact is None:
            raise NotFound(f"contacts/{cmd.contact_id}")
        try:
            customer, _ = _editable(uow, contact.customer_id, caller_id)
        except NotFound:
            # A contact of a customer the caller may not see is as missing as the customer.
            raise NotFound(f"contacts/{cmd.contact_id}") from None
        # Re-read under the customer's lock: a concurrent edit of this contact has committed by now.
        contact = uow.customers.get_contact(cmd.contact_id)
        _check_etag(contact, cmd.etag)
        read_version = contact.version
        if customers.update_contact(contact, changes, now):
            uow.customers.update_contact(contact, read_version)
            uow.publish([customers.chain_changed(customer, uow.customers.chain(customer.id), now)])
            uow.customers.save_chain_revision(customer)
            uow.commit()
        return contact

