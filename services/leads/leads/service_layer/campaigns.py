"""Campaigns and the source report (sales ops / admin), and the deals won from leads that feed it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation

from leads.domain import campaigns
from leads.service_layer import request_ids
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, fieldmask, names, paging
from shangji_kit.errors import Aborted, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery, idempotent


def _marketing(uow: LeadsUnitOfWork, caller_id: str, doing: str) -> None:
    if not uow.org.viewer(caller_id).sees_everything:
        raise PermissionDenied(f"only sales ops and admins may {doing}")


def create_campaign(values: dict[str, str], request_id: str, caller_id: str, uow: LeadsUnitOfWork,
                    now: datetime) -> campaigns.Campaign:
    """Sales ops / admin; anyone else is refused before their input is looked at."""
    caller_id = caller.user_id(caller_id)
    with uow:
        _marketing(uow, caller_id, "create campaigns")
        campaign = campaigns.new_campaign(id=str(uuid.uuid4()), values=values, now=now)
        earlier = request_ids.claim(uow, caller_id, "CreateCampaign", request_id, campaign.id)
        if earlier is not None:
            return uow.campaigns.get(earlier)
        uow.campaigns.add(campaign)
        uow.commit()
        return campaign


def get_campaign(campaign_id: str, caller_id: str, uow: LeadsUnitOfWork) -> campaigns.Campaign:
    caller.user_id(caller_id)
    with uow:
        campaign = uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFound(f"campaigns/{campaign_id}")
    return campaign


def list_campaigns(caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork
                   ) -> tuple[list[campaigns.Campaign], str]:
    caller.user_id(caller_id)
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        rows = uow.campaigns.list(limit + 1, after)
    page = rows[:limit]
    return page, paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""


def update_campaign(name: str, values: dict[str, str], update_mask: tuple[str, ...], etag: str, caller_id: str,
                    uow: LeadsUnitOfWork, now: datetime) -> campaigns.Campaign:
    """Sales ops / admin; anyone else is refused before their input (even ``campaign.name``) is looked at."""
    caller_id = caller.user_id(caller_id)
    with uow:
        _marketing(uow, caller_id, "change campaigns")
        campaign_id = names.parse(name, "campaigns", "campaign.name")
        fieldmask.check(update_mask, campaigns.CAMPAIGN_FIELDS)
        campaign = uow.campaigns.get(campaign_id, for_update=True)
        if campaign is None:
            raise NotFound(f"campaigns/{campaign_id}")
        changes = campaigns.clean_campaign_fields({k: v for k, v in values.items() if k in update_mask}, campaign)
        if etag and etag != campaign.etag:
            raise Aborted(f"{campaign.name} has changed (etag {campaign.etag}, not {etag}); re-read it",
                          metadata={"resource": campaign.name, "etag": campaign.etag})
        read_version = campaign.version
        if campaigns.update_campaign(campaign, changes, now):
            uow.campaigns.update(campaign, read_version)
            uow.commit()
        return campaign


def source_report(caller_id: str, uow: LeadsUnitOfWork) -> tuple[list[campaigns.ReportRow], list[campaigns.ReportRow]]:
    caller_id = caller.user_id(caller_id)
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
    return _record_outcome(delivery, uow, outcome, amount)


@idempotent(skipped=False)
def _record_outcome(uow: LeadsUnitOfWork, outcome: campaigns.Outcome, amount: Decimal) -> bool:
    uow.campaigns.record_outcome(outcome.opportunity, outcome.lead_id, outcome.won, amount, outcome.currency,
                                 outcome.change_time)
    return True
