"""Routing rules and the assignment queue: the rules sales ops load, and managers or sales ops giving queued
(UNASSIGNED) deals their owners."""

from __future__ import annotations

from dataclasses import dataclass

from opportunities.domain import audit, model, registration, routing
from opportunities.service_layer.deals import (
    Clock,
    check_etag,
    pipeline_of,
    save_deal,
    shown_all,
    shown_to,
    tasks_on_entry,
    utc_now,
    visible_deal,
)
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import names
from shangji_kit.caller import as_user_id
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.roles import SALES_ROLES


def routing_rules_from_list(data: object) -> list[routing.RoutingRule]:
    """The CLI's YAML list as rules, positions 1..n in file order; INVALID_ARGUMENT naming each bad entry."""
    if not isinstance(data, list):
        raise InvalidArgument.field("rules", "must be a list of rules")
    rules, violations = [], []
    allowed = {"region", "product_line", "amount_min", "amount_max", "owner"}
    for i, raw in enumerate(data):
        try:
            if not isinstance(raw, dict) or set(raw) - allowed:
                raise InvalidArgument.field(f"rules[{i}]", f"a mapping of {', '.join(sorted(allowed))}")
            owner = str(raw.get("owner", ""))
            owner_id = as_user_id(owner.removeprefix("users/")) if owner.startswith("users/") else None
            if owner_id is None:
                raise InvalidArgument.field(f"rules[{i}].owner", "required: users/{id}")
            bounds = {k: model.parse_amount(str(raw[k]), f"rules[{i}].{k}") if raw.get(k) is not None else None
                      for k in ("amount_min", "amount_max")}
            rules.append(routing.RoutingRule(position=i, owner_id=owner_id, region=str(raw.get("region") or ""),
                                             product_line=str(raw.get("product_line") or ""), **bounds))
        except InvalidArgument as exc:
            violations.extend(exc.violations)
    if violations:
        raise InvalidArgument(violations)
    return rules


def replace_routing_rules(rules: list[routing.RoutingRule], uow: OpportunitiesUnitOfWork) -> None:
    with uow:
        uow.registration.replace_rules(rules)
        uow.commit()


@dataclass(frozen=True)
class Assignment:
    """One (deal, assignee) pair as given: resource names, checked after the caller (who may assign at all)."""

    name: str
    assignee: str

ASSIGN_MAX = 200

def assign_opportunities(assignments: list[Assignment], caller_id: str, uow: OpportunitiesUnitOfWork,
                         *, clock: Clock = utc_now
                         ) -> list[model.Opportunity]:
    """Give queued (UNASSIGNED) deals their owners, all or none. sales ops and admins assign to anyone; an active
    manager to themself and the people below them. The caller is checked before the assignments."""
    user_id = as_user_id(caller_id)
    now = clock()
    with uow:
        viewer = uow.org.viewer(user_id) if user_id else None
        if viewer is None or viewer.deactivated or not (viewer.sees_everything or viewer.headed_paths):
            raise PermissionDenied("only sales ops, admins and managers assign deals", reason="NOT_AN_ASSIGNER")
        pairs = _checked_assignments(assignments)
        deals: list[tuple[model.Opportunity, int]] = []
        not_queued = []
        for i, a in enumerate(pairs):
            if not viewer.sees_everything and a.assignee_id != user_id and not uow.org.manages(viewer, a.assignee_id):
                raise PermissionDenied(f"users/{a.assignee_id} is not below you", reason="ASSIGNEE_NOT_MANAGED",
                                       metadata={"assignee": f"users/{a.assignee_id}", "index": str(i)})
            if uow.org.is_active(a.assignee_id) is False:
                raise FailedPrecondition(f"users/{a.assignee_id} is deactivated", reason="ASSIGNEE_INACTIVE",
                                         metadata={"assignee": f"users/{a.assignee_id}", "index": str(i)})
            opportunity = uow.deals.get_visible(a.opportunity_id, viewer)
            if opportunity is None:
                raise NotFound(f"opportunities/{a.opportunity_id}")
            if opportunity.registration_state != registration.UNASSIGNED:
                not_queued.append(opportunity)
            deals.append((opportunity, opportunity.version))
        if not_queued:
            raise FailedPrecondition(f"{len(not_queued)} of the deals are not in the assignment queue; "
                                     f"nothing assigned",
                                     reason="NOT_UNASSIGNED",
                                     violations=[("REGISTRATION", f"{o.name} is {o.registration_state}")
                                                 for o in not_queued])
        for (opportunity, expected), a in zip(deals, pairs, strict=True):
            opportunity.assign(a.assignee_id, now)
            save_deal(uow, opportunity, expected, cause=audit.Cause(audit.ASSIGN, user_id))
            # Registered without an owner, the deal got no tasks on entering its first stage: it gets them now.
            stage = pipeline_of(uow, opportunity).find(opportunity.stage_key)
            if stage is not None:
                tasks_on_entry(uow, opportunity, stage, now)
        shown = shown_all(uow, viewer, [o for o, _ in deals])
        uow.commit()
        return shown


@dataclass(frozen=True)
class _Pair:
    opportunity_id: str
    assignee_id: str


def _checked_assignments(assignments: list[Assignment]) -> list[_Pair]:
    if not assignments:
        raise InvalidArgument.field("assignments", "required: at least one (name, assignee) pair")
    if len(assignments) > ASSIGN_MAX:
        raise InvalidArgument.field("assignments", f"at most {ASSIGN_MAX} per call, got {len(assignments)}")
    pairs: list[_Pair] = []
    seen: set[str] = set()
    for i, a in enumerate(assignments):
        pair = _Pair(opportunity_id=names.parse(a.name, "opportunities", f"assignments[{i}].name"),
                     assignee_id=names.parse(a.assignee, "users", f"assignments[{i}].assignee"))
        if pair.opportunity_id in seen:
            raise InvalidArgument.field(f"assignments[{i}].name", f"opportunities/{pair.opportunity_id} appears twice")
        seen.add(pair.opportunity_id)
        pairs.append(pair)
    return pairs


@dataclass(frozen=True)
class ReassignOpportunity:
    opportunity_id: str
    new_owner_id: str
    etag: str = ""
    reason: str = ""


def reassign_opportunity(cmd: ReassignOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork,
                         *, clock: Clock = utc_now) -> model.Opportunity:
    """Give one deal to another active sales user, with the previous owner's open tasks on it: an active manager
    above the owner (to someone below them or themself), sales ops or an admin (to anyone). NOT_FOUND for a caller
    who may not see the deal, PERMISSION_DENIED for one who sees it but may not reassign it (or not to that user),
    FAILED_PRECONDITION for a deal that is not active or a new owner who already owns it or may not own deals,
    ABORTED for a stale etag."""
    now = clock()
    with uow:
        opportunity, viewer = visible_deal(uow, cmd.opportunity_id, caller_id)
        owner_id = opportunity.owner_id
        manages_owner = owner_id is not None and uow.org.manages(viewer, owner_id)
        if viewer.deactivated or not (viewer.sees_everything or manages_owner):
            raise PermissionDenied(f"only sales ops, admins and the managers above its owner reassign "
                                   f"{opportunity.name}", reason="NOT_A_REASSIGNER",
                                   metadata={"resource": opportunity.name})
        check_etag(opportunity, cmd.etag)
        roles = uow.org.roles_of(cmd.new_owner_id)
        new_owner = f"users/{cmd.new_owner_id}"
        if roles is None:
            raise InvalidArgument.field("new_owner", f"{new_owner} is not a user teams told us about")
        if not set(roles) & SALES_ROLES or not uow.org.is_active(cmd.new_owner_id):
            raise FailedPrecondition(f"{new_owner} is not an active sales user", reason="NEW_OWNER_NOT_SALES_USER",
                                     violations=[("NEW_OWNER", f"{new_owner} is not an active sales user")],
                                     metadata={"new_owner": new_owner})
        if not viewer.sees_everything and cmd.new_owner_id != viewer.user_id \
                and not uow.org.manages(viewer, cmd.new_owner_id):
            # As AssignOpportunities: a manager moves deals within their own tree; across departments is sales ops'.
            raise PermissionDenied(f"{new_owner} is not below you", reason="ASSIGNEE_NOT_MANAGED",
                                   metadata={"new_owner": new_owner})
        expected = opportunity.version
        opportunity.reassign(cmd.new_owner_id, viewer.user_id, cmd.reason, now)
        save_deal(uow, opportunity, expected, cause=audit.Cause(audit.REASSIGN, viewer.user_id, cmd.reason.strip()))
        if owner_id is not None:
            uow.tasks.move_open([opportunity.id], owner_id, cmd.new_owner_id)
        shown = shown_to(uow, viewer, opportunity)
        uow.commit()
        return shown
