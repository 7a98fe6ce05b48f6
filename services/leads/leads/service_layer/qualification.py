"""Qualification: a lead's qualifying details, behaviours, score and MQL/SQL, and rescoring after a change
of the scoring settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leads.domain import model, scoring
from leads.service_layer import lead_access, request_ids
from leads.service_layer.capture import campaign_source
from leads.service_layer.conflicts import hide_unseen_originals
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, fieldmask, names
from shangji_kit.errors import InvalidArgument, NotFound

LEAD_FIELDS = ("contact_title", "company_size", "industry", "source", "campaign", "flags")


@dataclass(frozen=True)
class UpdateLead:
    lead_id: str
    update_mask: tuple[str, ...]
    values: dict
    etag: str = ""


def update_lead(cmd: UpdateLead, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> model.Lead:
    """Change qualifying details; the score and qualification follow (LeadQualificationChanged when it moves)."""
    caller_id = caller.user_id(caller_id)
    mask = fieldmask.check(cmd.update_mask, LEAD_FIELDS)
    changes, violations = model.clean_details(cmd.values, mask)
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
    with uow:
        lead = lead_access.changeable(uow, cmd.lead_id, caller_id)
        lead.check_open(cmd.etag)
        if "campaign" in mask:
            changes["campaign_id"] = campaign_id
            if campaign_id is not None:
                campaign_source(uow, lead, campaign_id)
        read_version = lead.version
        changed = lead.update_details(changes)
        rescored = scoring.rescore(lead, uow.pool_settings.scoring(), now)
        if changed or rescored:
            lead.new_version(now, since=read_version)
            lead_access.save(uow, lead, read_version)
            uow.commit()
        hide_unseen_originals(uow, caller_id, [lead])
        return lead


@dataclass(frozen=True)
class RecordBehaviour:
    lead_id: str
    kind: str
    occur_time: datetime | None = None
    request_id: str = ""


def record_behaviour(cmd: RecordBehaviour, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> model.Lead:
    caller_id = caller.user_id(caller_id)
    occur_time = cmd.occur_time or now
    with uow:
        settings = uow.pool_settings.scoring()
        kind = scoring.check_behaviour(cmd.kind, occur_time, now, settings)
        lead = lead_access.changeable(uow, cmd.lead_id, caller_id)
        # Under the lead's lock: a concurrent twin with this request id has committed by now.
        earlier = request_ids.claim(uow, caller_id, "RecordLeadBehaviour", cmd.request_id, lead.id)
        if earlier is not None:
            if earlier != lead.id:
                raise InvalidArgument.field("request_id", "already used for another behaviour")
            hide_unseen_originals(uow, caller_id, [lead])
            return lead
        read_version = lead.version
        scoring.record_behaviour(lead, kind, settings, now)
        uow.leads.add_behaviour(lead_id=lead.id, kind=kind, occur_time=occur_time, recorded_by=caller_id, now=now)
        lead.new_version(now, since=read_version)
        lead_access.save(uow, lead, read_version)
        uow.commit()
        hide_unseen_originals(uow, caller_id, [lead])
        return lead


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
                    lead.new_version(now, since=read_version)
                    changed += 1
                # Saved even when the score stands: it is no longer stale.
                lead_access.save(uow, lead, read_version)
            uow.commit()
        if len(batch) < batch_size:
            return changed


def get_lead_score(lead_id: str, caller_id: str, uow: LeadsUnitOfWork) -> scoring.LeadScore:
    caller_id = caller.user_id(caller_id)
    with uow:
        lead = uow.leads.get_visible(lead_id, uow.org.viewer(caller_id))
        if lead is None:
            raise NotFound(f"leads/{lead_id}")
        return scoring.LeadScore(lead, scoring.missing_for_next(lead, uow.pool_settings.scoring()))
