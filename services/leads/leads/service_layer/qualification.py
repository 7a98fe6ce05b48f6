"""Scoring, qualification, settings, campaigns and the source report: use cases, one transaction each."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from leads.domain import campaigns, dedupe, model, scoring
from leads.domain.pool import PoolSettings
from leads.service_layer.services import caller_user_id, campaign_source
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import fieldmask, names, paging
from shangji_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import Viewer

LEAD_FIELDS = ("contact_title", "company_size", "industry", "source", "campaign", "flags")


def _may_change(uow: LeadsUnitOfWork, viewer: Viewer, lead: model.Lead) -> bool:
    """The holder, a manager above them, or sales ops / admin (who also keep the pool's leads)."""
    return (viewer.sees_everything or lead.owner_id == viewer.user_id
            or (lead.owner_id is not None and uow.org.manages(viewer, lead.owner_id)))


def _changeable_lead(uow: LeadsUnitOfWork, lead_id: str, caller_id: str) -> model.Lead:
    viewer = uow.org.viewer(caller_id)
    lead = uow.leads.get_visible(lead_id, viewer, for_update=True)
    if lead is None:
        raise NotFound(f"leads/{lead_id}")
    if not _may_change(uow, viewer, lead):
        raise PermissionDenied(f"only the holder of {lead.name}, a manager above them or sales ops may change it",
                               metadata={"resource": lead.name})
    return lead


def _save(uow: LeadsUnitOfWork, lead: model.Lead, read_version: int) -> None:
    uow.leads.update(lead, read_version)
    uow.publish(lead.events)


@dataclass(frozen=True)
class UpdateLead:
    lead_id: str
    update_mask: tuple[str, ...]
    values: dict
    etag: str = ""


def update_lead(cmd: UpdateLead, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    """Change qualifying details; the score and qualification follow (LeadQualificationChanged when it moves)."""
    caller_id = caller_user_id(caller_id)
    mask = fieldmask.check(cmd.update_mask, LEAD_FIELDS)
    changes: dict = {}
    violations: list[FieldViolation] = []
    for name, limit in (("contact_title", 100), ("company_size", 50), ("industry", 100), ("source", 100)):
        if name in mask:
            changes[name] = " ".join(cmd.values.get(name, "").split())
            if len(changes[name]) > limit:
                violations.append(FieldViolation(f"lead.{name}", f"at most {limit} characters"))
    campaign_id = None
    if "campaign" in mask and cmd.values.get("campaign"):
        try:
            campaign_id = names.parse(cmd.values["campaign"], "campaigns", "lead.campaign")
        except InvalidArgument as exc:
            violations.extend(exc.violations)
    if "flags" in mask:
        try:
            changes["flags"] = scoring.check_flags(list(cmd.values.get("flags", ())), "lead.flags")
        except InvalidArgument as exc:
            violations.extend(exc.violations)
    if violations:
        raise InvalidArgument(violations)
    now = datetime.now(UTC)
    with uow:
        lead = _changeable_lead(uow, cmd.lead_id, caller_id)
        if cmd.etag and cmd.etag != lead.etag:
            raise Aborted(f"{lead.name} has changed (etag {lead.etag}, not {cmd.etag}); re-read it",
                          metadata={"resource": lead.name, "etag": lead.etag})
        if lead.state != model.OPEN:
            raise FailedPrecondition(f"{lead.name} is already converted", reason="LEAD_ALREADY_CONVERTED",
                                     metadata={"resource": lead.name})
        if "campaign" in mask:
            changes["campaign_id"] = campaign_id
            if campaign_id is not None:
                campaign_source(uow, lead, campaign_id)
        read_version = lead.version
        changed = [k for k, v in changes.items() if getattr(lead, k) != v]
        for k in changed:
            setattr(lead, k, changes[k])
        rescored = scoring.rescore(lead, uow.pool_settings.scoring(), now)
        if changed or rescored:
            lead.version += 1
            lead.update_time = now
            _save(uow, lead, read_version)
            uow.commit()
        return lead


@dataclass(frozen=True)
class RecordBehaviour:
    lead_id: str
    kind: str
    occur_time: datetime | None = None
    request_id: str = ""


def record_behaviour(cmd: RecordBehaviour, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = caller_user_id(caller_id)
    now = datetime.now(UTC)
    occur_time = cmd.occur_time or now
    with uow:
        settings = uow.pool_settings.scoring()
        kind = scoring.check_behaviour(cmd.kind, occur_time, now, settings)
        if cmd.request_id:
            earlier = uow.leads.behaviour_lead(cmd.request_id)
            if earlier is not None:
                lead = uow.leads.get_visible(earlier, uow.org.viewer(caller_id))
                if lead is None or lead.id != cmd.lead_id:
                    raise InvalidArgument.field("request_id", "already used for another behaviour")
                return lead
        lead = _changeable_lead(uow, cmd.lead_id, caller_id)
        read_version = lead.version
        scoring.record_behaviour(lead, kind, settings, now)
        if not uow.leads.add_behaviour(lead_id=lead.id, kind=kind, occur_time=occur_time, recorded_by=caller_id,
                                       now=now, request_id=cmd.request_id):
            raise Aborted("a behaviour with this request_id was recorded concurrently; retry to read it")
        lead.version += 1
        lead.update_time = now
        _save(uow, lead, read_version)
        uow.commit()
        return lead


@dataclass(frozen=True)
class LeadScore:
    lead: model.Lead
    missing_for_next: list[str]


def rescore_stale(now: datetime, uow: LeadsUnitOfWork, batch_size: int = 500) -> int:
    """Rescore open leads scored with older scoring settings, a batch per transaction (each change of
    qualification an event); how many leads changed."""
    changed = 0
    while True:
        with uow:
            settings = uow.pool_settings.scoring()
            batch = uow.leads.stale_scores(settings.version, batch_size)
            for lead in batch:
                read_version = lead.version
                if scoring.rescore(lead, settings, now):
                    lead.version += 1
                    lead.update_time = now
                    changed += 1
                # Saved even when the score stands: it is no longer stale.
                _save(uow, lead, read_version)
            uow.commit()
        if len(batch) < batch_size:
            return changed


def get_lead_score(lead_id: str, caller_id: str, uow: LeadsUnitOfWork) -> LeadScore:
    caller_id = caller_user_id(caller_id)
    with uow:
        lead = uow.leads.get_visible(lead_id, uow.org.viewer(caller_id))
        if lead is None:
            raise NotFound(f"leads/{lead_id}")
        return LeadScore(lead, scoring.missing_for_next(lead, uow.pool_settings.scoring()))


# --- settings ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    pool: PoolSettings
    scoring: scoring.ScoringSettings
    version: int

    @property
    def etag(self) -> str:
        return str(self.version)


POOL_FIELDS = ("claim_cap", "return_reasons", "recycle_after_days_without_follow_up", "recycle_after_days_unconverted",
               "reclaim_bar_days", "dedupe_mode")
# LeadSettings field -> ScoringSettings attribute.
SCORING_FIELDS = {"scoring_rules": "rules", "behaviour_points": "behaviour_points", "mql_threshold": "mql_threshold",
                  "sql_threshold": "sql_threshold", "sql_requires": "sql_requires",
                  "convert_requires": "convert_requires", "customer_grades": "customer_grades"}


def get_settings(caller_id: str, uow: LeadsUnitOfWork) -> Settings:
    caller_user_id(caller_id)
    with uow:
        return Settings(*uow.pool_settings.get_all())


def _check_pool(pool: PoolSettings) -> list[FieldViolation]:
    violations = []
    if pool.claim_cap < 0:
        violations.append(FieldViolation("settings.claim_cap", "not negative"))
    reasons = [r for r in pool.return_reasons if r.strip()]
    if not reasons or len(reasons) != len(pool.return_reasons) or len(set(reasons)) != len(reasons):
        violations.append(FieldViolation("settings.return_reasons", "at least one reason, none empty, each once"))
    for name in ("recycle_after_days_without_follow_up", "recycle_after_days_unconverted", "reclaim_bar_days"):
        if getattr(pool, name) < 0:
            violations.append(FieldViolation(f"settings.{name}", "not negative (0 turns the rule off)"))
    if pool.dedupe_mode not in dedupe.MODES:
        violations.append(FieldViolation("settings.dedupe_mode", f"one of {', '.join(dedupe.MODES)}"))
    return violations


def update_settings(new: Settings, update_mask: tuple[str, ...], etag: str, caller_id: str,
                    uow: LeadsUnitOfWork) -> Settings:
    """Sales ops / admin change the settings in the mask, all checked at once. A change that scores
    differently makes every open lead stale; the worker rescores them in batches (``rescore_stale``)."""
    caller_id = caller_user_id(caller_id)
    fieldmask.check(update_mask, POOL_FIELDS + tuple(SCORING_FIELDS))
    with uow:
        if not uow.org.viewer(caller_id).sees_everything:
            raise PermissionDenied("only sales ops and admins may change the lead settings")
        pool, score_settings, version = uow.pool_settings.get_all(for_update=True)
        if etag and etag != str(version):
            raise Aborted(f"the settings have changed (etag {version}, not {etag}); re-read them",
                          metadata={"etag": str(version)})
        pool = dataclasses.replace(pool, **{f: getattr(new.pool, f) for f in update_mask if f in POOL_FIELDS})
        before = score_settings
        score_settings = dataclasses.replace(score_settings, **{
            SCORING_FIELDS[f]: getattr(new.scoring, SCORING_FIELDS[f]) for f in update_mask if f in SCORING_FIELDS})
        if score_settings.scores_differently(before):
            # Every open lead's score is now stale: the worker rescores them (rescore_stale).
            score_settings = dataclasses.replace(score_settings, version=before.version + 1)
        violations = _check_pool(pool) + scoring.check_settings(score_settings)
        if violations:
            raise InvalidArgument(violations)
        version = uow.pool_settings.save(pool, score_settings, version)
        uow.commit()
        return Settings(pool, score_settings, version)


def set_rep_away(user: str, away: bool, caller_id: str, uow: LeadsUnitOfWork) -> tuple[str, bool]:
    """The rep themself, a manager above them, or sales ops / admin marks them away (assignment skips them)."""
    caller_id = caller_user_id(caller_id)
    user_id = names.parse(user, "users", "user")
    with uow:
        if uow.org.is_active(user_id) is None:
            raise InvalidArgument.field("user", f"{user} is not a user leads knows (yet)")
        viewer = uow.org.viewer(caller_id)
        if not (user_id == caller_id or viewer.sees_everything or uow.org.manages(viewer, user_id)):
            raise PermissionDenied(f"only {user} themself, a manager above them or sales ops may mark them away",
                                   metadata={"user": user})
        uow.reps.set_away(user_id, away)
        uow.commit()
        return user_id, away


# --- campaigns and the source report -----------------------------------------------------------------

def _marketing(uow: LeadsUnitOfWork, caller_id: str, doing: str) -> None:
    if not uow.org.viewer(caller_id).sees_everything:
        raise PermissionDenied(f"only sales ops and admins may {doing}")


def create_campaign(values: dict[str, str], request_id: str, caller_id: str,
                    uow: LeadsUnitOfWork) -> campaigns.Campaign:
    caller_id = caller_user_id(caller_id)
    campaign = campaigns.new_campaign(id=str(uuid.uuid4()), values=values, now=datetime.now(UTC))
    with uow:
        _marketing(uow, caller_id, "create campaigns")
        if request_id:
            earlier = uow.campaigns.get_by_request_id(request_id)
            if earlier:
                return earlier
        if not uow.campaigns.add(campaign, request_id):
            return uow.campaigns.get_by_request_id(request_id)
        uow.commit()
        return campaign


def get_campaign(campaign_id: str, caller_id: str, uow: LeadsUnitOfWork) -> campaigns.Campaign:
    caller_user_id(caller_id)
    with uow:
        campaign = uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFound(f"campaigns/{campaign_id}")
    return campaign


def list_campaigns(caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork
                   ) -> tuple[list[campaigns.Campaign], str]:
    caller_user_id(caller_id)
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        rows = uow.campaigns.list(limit + 1, after)
    page = rows[:limit]
    return page, paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""


def update_campaign(campaign_id: str, values: dict[str, str], update_mask: tuple[str, ...], etag: str, caller_id: str,
                    uow: LeadsUnitOfWork) -> campaigns.Campaign:
    caller_id = caller_user_id(caller_id)
    fieldmask.check(update_mask, campaigns.CAMPAIGN_FIELDS)
    with uow:
        _marketing(uow, caller_id, "change campaigns")
        campaign = uow.campaigns.get(campaign_id, for_update=True)
        if campaign is None:
            raise NotFound(f"campaigns/{campaign_id}")
        changes = campaigns.clean_campaign_fields({k: v for k, v in values.items() if k in update_mask}, campaign)
        if etag and etag != campaign.etag:
            raise Aborted(f"{campaign.name} has changed (etag {campaign.etag}, not {etag}); re-read it",
                          metadata={"resource": campaign.name, "etag": campaign.etag})
        read_version = campaign.version
        if campaigns.update_campaign(campaign, changes, datetime.now(UTC)):
            uow.campaigns.update(campaign, read_version)
            uow.commit()
        return campaign


def source_report(caller_id: str, uow: LeadsUnitOfWork) -> tuple[list[campaigns.ReportRow], list[campaigns.ReportRow]]:
    caller_id = caller_user_id(caller_id)
    with uow:
        _marketing(uow, caller_id, "read the source report")
        by_source, by_campaign = uow.campaigns.tallies()
    return [campaigns.report_row(t) for t in by_source], [campaigns.report_row(t) for t in by_campaign]


def record_outcome(outcome: campaigns.Outcome, delivery: Delivery, uow: LeadsUnitOfWork) -> bool:
    """A won or reopened deal into the report's won amounts; False for a redelivery or a deal not from a lead."""
    if outcome.lead_id is None:
        return False
    try:
        amount = Decimal(outcome.amount or "0")
    except InvalidOperation:
        raise InvalidArgument.field("opportunity.amount", f"not a decimal: {outcome.amount!r}") from None
    with uow:
        if not uow.claim(delivery):
            return False
        uow.campaigns.record_outcome(outcome.opportunity, outcome.lead_id, outcome.won, amount, outcome.currency,
                                     outcome.change_time)
        uow.commit()
        return True
