"""Requests of the leads API as the service layer's commands and values (inbound only)."""

from __future__ import annotations

from datetime import UTC, datetime

from leads.domain import campaigns, customers, pool, scoring
from leads.domain.settings import LeadSettings
from shangji.leads.v1 import leads_pb2
from shangji_kit import names
from shangji_kit.errors import FieldViolation, InvalidArgument


def import_header(header: leads_pb2.ImportHeader) -> dict:
    return {"columns": list(header.columns), "owner": header.owner, "to_pool": header.to_pool,
            "all_or_nothing": header.all_or_nothing, "file_name": header.file_name,
            "auto_assign": header.auto_assign, "campaign": header.campaign}


def customer_import_header(header: leads_pb2.ImportCustomersHeader) -> dict:
    return {"columns": list(header.columns), "owner": header.owner, "all_or_nothing": header.all_or_nothing,
            "file_name": header.file_name}


_KINDS = {name: leads_pb2.FollowUp.Kind.Value(name) for name in pool.FOLLOW_UP_KINDS}


def follow_up_kind(kind: int) -> str:
    """The domain's kind for a FollowUp.Kind; "" for an unknown or unset one (the domain rejects it)."""
    return leads_pb2.FollowUp.Kind.Name(kind) if kind in _KINDS.values() else ""


def customer_values(customer: leads_pb2.Customer) -> dict[str, str]:
    return {f: getattr(customer, f) for f in customers.CUSTOMER_FIELDS}


def contact_values(contact: leads_pb2.Contact) -> dict:
    return {f: getattr(contact, f) for f in customers.CONTACT_FIELDS}


def lead_values(lead: leads_pb2.Lead) -> dict:
    return {"contact_title": lead.contact_title, "company_size": lead.company_size, "industry": lead.industry,
            "source": lead.source, "campaign": lead.campaign, "flags": tuple(lead.flags)}


def settings_from_proto(message: leads_pb2.LeadSettings) -> LeadSettings:
    """Every field as given (the service takes only those in the update mask); text trimmed, grades upper-cased."""
    pool_settings = pool.PoolSettings(
        claim_cap=message.claim_cap, return_reasons=tuple(r.strip() for r in message.return_reasons),
        recycle_after_days_without_follow_up=message.recycle_after_days_without_follow_up,
        recycle_after_days_unconverted=message.recycle_after_days_unconverted,
        reclaim_bar_days=message.reclaim_bar_days, dedupe_mode=message.dedupe_mode.strip())
    scoring_settings = scoring.ScoringSettings(
        rules=tuple(scoring.ScoringRule(r.field.strip(), tuple(v.strip() for v in r.values if v.strip()), r.points)
                    for r in message.scoring_rules),
        behaviour_points=dict(message.behaviour_points), mql_threshold=message.mql_threshold,
        sql_threshold=message.sql_threshold, sql_requires=tuple(r.strip() for r in message.sql_requires),
        convert_requires=message.convert_requires.strip().upper(),
        customer_grades=tuple((g.grade.strip().upper(), g.meaning.strip()) for g in message.customer_grades))
    return LeadSettings(pool_settings, scoring_settings, 0)


def campaign_values(campaign: leads_pb2.Campaign) -> dict[str, str]:
    return {f: getattr(campaign, f) for f in campaigns.CAMPAIGN_FIELDS}


BATCH_LIMIT = 100


def lead_ids(lead_names: list[str], field: str = "names") -> list[str]:
    """Lead ids from "leads/{id}" names, each bad one named as ``names[i]``; duplicates folded, order kept."""
    if not lead_names:
        raise InvalidArgument.field(field, "required: at least one lead")
    if len(lead_names) > BATCH_LIMIT:
        raise InvalidArgument.field(field, f"at most {BATCH_LIMIT} leads at a time")
    ids: list[str] = []
    violations: list[FieldViolation] = []
    for i, name in enumerate(lead_names):
        try:
            ids.append(names.parse(name, "leads", f"{field}[{i}]"))
        except InvalidArgument as exc:
            violations += exc.violations
    if violations:
        raise InvalidArgument(violations)
    return list(dict.fromkeys(ids))


def occur_time(request: leads_pb2.RecordLeadBehaviourRequest) -> datetime | None:
    """The behaviour's time; None when not given. A Timestamp no datetime can hold is read as the end of
    time it lies towards, which the domain refuses with the other bad fields (``occur_time`` in the future,
    or before its earliest)."""
    if not request.HasField("occur_time"):
        return None
    try:
        return request.occur_time.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        return (datetime.max if request.occur_time.seconds >= 0 else datetime.min).replace(tzinfo=UTC)
