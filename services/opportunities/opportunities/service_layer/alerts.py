"""Alerts for notify: the time-driven scan (close dates approaching or passed, stalled deals) and the big-deal alert
raised when a deal's amount crosses the company's threshold; each once per deal, kind and condition."""

from __future__ import annotations

from datetime import datetime, timedelta

from opportunities.domain import alerts, model
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork


def raise_big_deal(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, now: datetime) -> None:
    """OpportunityBigDeal, once per deal and threshold, when the amount is above the company's threshold."""
    threshold = uow.registration.big_deal_threshold()
    if threshold is None or opportunity.amount is None or opportunity.amount <= threshold:
        return
    alert = alerts.big_deal_alert(opportunity, threshold, uow.alerts.managers_of(opportunity.owner_id or ""), now)
    if alert is not None and uow.alerts.record(alert):
        uow.publish([alert])


def scan_alerts(now: datetime, uow: OpportunitiesUnitOfWork) -> list[alerts.Alert]:
    """Raise every time-driven alert due at ``now`` (close date approaching or passed, stalled), each once per
    deal and condition: the alerts_sent row and the event commit together, and a concurrent scan's claim of the
    same row makes the other skip it. Returns the alerts raised."""
    today = alerts.today_of(now)
    raised: list[alerts.Alert] = []
    with uow:
        pipelines: dict[tuple[str, int], model.Pipeline | None] = {}

        def max_days(o: model.Opportunity) -> int | None:
            key = (o.pipeline_id, o.pipeline_version)
            if key not in pipelines:
                pipelines[key] = uow.pipelines.get(*key)
            pipeline = pipelines[key]
            stage = next((s for s in pipeline.stages if s.key == o.stage_key), None) if pipeline else None
            return stage.max_days if stage else None

        # A stage's max_days is at least 1 (pipeline_from_dict), so a deal in its stage for under a day is no
        # stall candidate, whatever its pipeline version says.
        candidates = uow.alerts.candidates(today + timedelta(days=alerts.APPROACHING_DAYS),
                                           now - timedelta(days=1))
        sent = uow.alerts.sent([o.id for o in candidates])
        for o in candidates:
            for alert in alerts.scan(o, max_days(o), now):
                if (o.id, alert.kind, alert.condition_key) in sent:
                    continue
                if uow.alerts.record(alert):
                    raised.append(alert)
        uow.publish(list(raised))
        uow.commit()
    return raised
