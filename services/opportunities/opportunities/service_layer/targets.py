"""Targets (quotas) per rep or department per month, quarter or year: set by sales_ops and admin for anyone and
by a department head for the departments and people in their tree; attainment from won deals the caller may
see; a department's target split to its members.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from opportunities.domain import reporting
from opportunities.domain.report_rows import TargetRow
from opportunities.domain.reporting import Period
from opportunities.service_layer.report_repositories import ReportStore, ReportsUnitOfWork
from opportunities.service_layer.report_scope import Scope, caller_viewer
from shangji_kit import visibility
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

Subject = tuple[str, str]  # ("user" | "department", id)


@dataclass(frozen=True)
class SetTarget:
    subject: Subject
    period_type: str
    start: date
    amount: Decimal


@dataclass(frozen=True)
class TargetView:
    target: TargetRow
    won: Decimal


def _subject_path(store: ReportStore, subject: Subject, field: str) -> str:
    """The department path a subject sits at (a person's department's); INVALID_ARGUMENT when unknown here."""
    kind, subject_id = subject
    path = store.subject_path(kind, subject_id)
    if path is None:
        raise InvalidArgument.field(field, f"{kind}s/{subject_id} is not a {kind} teams told us about")
    return path


def _may_set(viewer: visibility.Viewer, subject: Subject, path: str) -> bool:
    if viewer.sees_everything:
        return True
    if viewer.deactivated or (subject[0] == "user" and subject[1] == viewer.user_id):
        return False
    return bool(path) and any(path.startswith(p) for p in viewer.headed_paths)


def _deny(subject: Subject) -> PermissionDenied:
    return PermissionDenied(f"only sales_ops, admin or a head above {subject[0]}s/{subject[1]} sets its targets",
                            reason="NOT_A_TARGET_SETTER")


def _view(store: ReportStore, viewer: visibility.Viewer, row: TargetRow) -> TargetView:
    """The target with what its subject won in its period, counting only deals the viewer may open."""
    scope = Scope(owner_id=row.subject_id) if row.subject_kind == "user" else Scope(department_id=row.subject_id)
    narrowing = store.narrowing(scope.department_id, scope.owner_id, None)
    return TargetView(row, store.deals(viewer, narrowing).won_amount(row.start_date, row.end_date))


def set_target(cmd: SetTarget, caller_id: str, uow: ReportsUnitOfWork) -> TargetView:
    period = reporting.target_period(cmd.period_type, cmd.start)
    with uow as store:
        viewer = caller_viewer(store, caller_id)
        path = _subject_path(store, cmd.subject, "target.subject")
        if not _may_set(viewer, cmd.subject, path):
            raise _deny(cmd.subject)
        row = store.upsert_target(TargetRow(
            str(uuid.uuid4()), cmd.subject[0], cmd.subject[1], cmd.period_type, period.start, period.end, cmd.amount,
            None, viewer.user_id, datetime.now(UTC)))
        view = _view(store, viewer, row)
        store.commit()
    return view


def list_targets(period: Period, subject: Subject | None, caller_id: str, uow: ReportsUnitOfWork
                 ) -> list[TargetView]:
    with uow as store:
        viewer = caller_viewer(store, caller_id)
        return [_view(store, viewer, row) for row in store.list_targets(viewer, period.start, period.end, subject)]


def split_target(target_id: str, shares: list[tuple[str, Decimal]], caller_id: str, uow: ReportsUnitOfWork
                 ) -> list[TargetView]:
    """The department target's amount as targets of its members for the same period (replacing theirs)."""
    now = datetime.now(UTC)
    with uow as store:
        viewer = caller_viewer(store, caller_id)
        target = store.get_target(target_id, viewer)
        if target is None:
            raise NotFound(f"targets/{target_id}")
        subject = (target.subject_kind, target.subject_id)
        if target.subject_kind != "department":
            raise FailedPrecondition(f"targets/{target_id} is a rep's target; only a department's is split",
                                     reason="NOT_A_DEPARTMENT_TARGET", violations=[("TARGET", "a rep's target")])
        path = _subject_path(store, subject, "name")
        if not _may_set(viewer, subject, path):
            raise _deny(subject)
        if shares:
            for i, (user_id, _) in enumerate(shares):
                member_path = _subject_path(store, ("user", user_id), f"shares[{i}].subject")
                if not member_path.startswith(path):
                    raise InvalidArgument.field(f"shares[{i}].subject",
                                                f"users/{user_id} is not in departments/{target.subject_id}")
            reporting.check_shares(target.amount, shares)
        else:
            members = store.active_members(target.subject_id)
            if not members:
                raise FailedPrecondition(f"departments/{target.subject_id} has no active members to split to",
                                         reason="NO_MEMBERS", violations=[("MEMBERS", "no active members")])
            shares = reporting.split_evenly(target.amount, members)
        rows = [store.upsert_target(TargetRow(
            str(uuid.uuid4()), "user", user_id, target.period_type, target.start_date, target.end_date, amount,
            target.id, viewer.user_id, now)) for user_id, amount in shares]
        views = [_view(store, viewer, row) for row in rows]
        store.commit()
    return views


# --- targets beside a forecast --------------------------------------------------------------------------------------

def targets_of(store: ReportStore, viewer: visibility.Viewer, subject: Subject | None, first: date, last: date
               ) -> list[TargetRow] | None:
    """The subject's targets overlapping [first, last] that the caller may see; None when there is no subject."""
    if subject is None:
        return None
    return store.list_targets(viewer, first, last, subject)


def target_for(goals: list[TargetRow], bucket: Period) -> Decimal | None:
    """The target for ``bucket``: per month, the month's target, else a third of the quarter's, else a twelfth of
    the year's (the most specific one set wins, so a month and its quarter are not counted twice)."""
    if not goals:
        return None
    total, found = Decimal(0), False
    for month in reporting.buckets(bucket, reporting.MONTH):
        for kind in reporting.TARGET_PERIODS:
            match = [g for g in goals if g.period_type == kind and g.start_date <= month.start <= g.end_date]
            if match:
                total += match[0].amount * reporting.months_overlap(Period(match[0].start_date, match[0].end_date),
                                                                    month)
                found = True
                break
    return total.quantize(reporting.CENT) if found else None
