"""Import: a table of deals in one transaction, each row registered as RegisterOpportunity registers a deal
(its fields' rules, the customer's visibility, collisions refused or queued as the company's collision mode
says), every rejected row reported by column.

Idempotent by content: each row's key (``table_import.row_request_id``) is remembered in
``idempotency_keys`` under the operation ``ImportOpportunities`` for any caller, so the same rows sent again
(by whoever, from whatever file) register nothing twice.
"""

from __future__ import annotations

from opportunities.domain import deal_import, model, registration
from opportunities.service_layer import registration as registering
from opportunities.service_layer.deals import Clock, new_id, utc_now
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import names, table_import
from shangji_kit.caller import as_user_id
from shangji_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied

OPERATION = "ImportOpportunities"
# The command: a table, the owner of what it makes, all_or_nothing.
ImportOpportunities = table_import.ImportTable


def _check_owner(uow: OpportunitiesUnitOfWork, user_id: str, owner_id: str) -> None:
    """Someone else as the deals' owner: a user we know and not deactivated, below the caller (a manager), or
    anyone for sales ops and admins."""
    owner = names.format("users", owner_id)
    active = uow.org.is_active(owner_id)
    if active is None:
        # teams' UserCreated may reach us a moment after the user exists; the client can retry.
        raise InvalidArgument.field("owner", f"{owner} is not a user opportunities knows (yet)")
    if not active:
        raise FailedPrecondition(f"{owner} is deactivated and cannot own deals", reason="INACTIVE_USER",
                                 metadata={"user": owner})
    viewer = uow.org.viewer(user_id)
    if viewer.deactivated or not (viewer.sees_everything or uow.org.manages(viewer, owner_id)):
        raise PermissionDenied(f"only {owner} themself, a manager above them, or sales ops may give them deals",
                               reason="OWNER_NOT_MANAGED", metadata={"user": owner})


def import_opportunities(cmd: ImportOpportunities, caller_id: str | None, uow: OpportunitiesUnitOfWork,
                         *, clock: Clock = utc_now) -> deal_import.DealsImportReport:
    """Register a table's deals in one transaction; ``all_or_nothing``: any rejected row writes nothing.
    ``caller_id`` None: an operator's import (the CLI), trusted to name any owner, who is then the registrant."""
    user_id = as_user_id(caller_id) if caller_id is not None else None
    if caller_id is not None and user_id is None:
        raise PermissionDenied("only users (a users/{id} token subject) register deals", reason="NOT_A_USER")
    positions, owner_id = table_import.checked_header(deal_import.COLUMNS, cmd.columns, cmd.rows, owner=cmd.owner,
                                                      caller_id=user_id)
    now = clock()
    report = deal_import.DealsImportReport(content_sha256=table_import.content_sha256(cmd.columns, cmd.rows))
    rows: list[tuple[int, registering.RegisterOpportunity, model.RegistrationValues]] = []
    for row_number, values in cmd.rows:
        if table_import.is_blank(values):
            continue
        bad_cells = table_import.nul_rejections(row_number, values, positions)
        if bad_cells:
            report.rejections.extend(bad_cells)
            continue
        row = registering.RegisterOpportunity(**deal_import.row_fields(values, positions))
        try:
            rows.append((row_number, row, registering.parsed_registration(row, now, field_prefix="")))
        except InvalidArgument as exc:
            report.rejections.extend(table_import.rejections(row_number, exc))
    if cmd.all_or_nothing and report.rejections:
        return report
    with uow:
        if user_id is not None and owner_id != user_id:
            _check_owner(uow, user_id, owner_id)
        pipeline = uow.pipelines.default()
        if pipeline is None:
            raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
        settings = uow.registration.settings()
        viewer = uow.org.viewer(user_id) if user_id is not None else None
        for row_number, row, values in rows:
            key = table_import.row_key(OPERATION, report.content_sha256, row_number)
            if uow.request_ids.find(key) is not None:
                report.already_imported += 1
                continue
            if values.customer_id is not None and viewer is not None \
                    and not uow.customers.visible(values.customer_id, viewer):
                report.rejections.append(table_import.Rejection(row_number, "customer",
                                                                f"customers/{values.customer_id} not found"))
                continue
            try:
                opportunity = registering.checked_registration(
                    uow, row, values, deal_id=new_id(), owner_id=owner_id, registrant_id=user_id or owner_id,
                    pipeline=pipeline, settings=settings, now=now, field_prefix="")
            except InvalidArgument as exc:
                report.rejections.extend(table_import.rejections(row_number, exc))
                continue
            except FailedPrecondition as exc:
                # A collision in the company's refuse mode: the row, not the import.
                report.rejections.append(table_import.Rejection(row_number, "customer_company", exc.message))
                continue
            if uow.request_ids.claim(key, opportunity.id) is not None:
                report.already_imported += 1  # a concurrent import of the same content registered it meanwhile
                continue
            registering.write_registration(uow, opportunity, pipeline, now)
            report.accepted += 1
            report.queued += int(opportunity.registration_state == registration.PENDING_ARBITRATION)
        if cmd.all_or_nothing and report.rejections:
            return report  # leaving the unit of work rolls every registration back
        report.committed = True
        uow.commit()
    return report
