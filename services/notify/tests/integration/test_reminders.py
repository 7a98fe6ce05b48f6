"""Reminders and escalations through the worker's handlers, against the session's real notify database."""

import uuid
from datetime import UTC, datetime

from google.protobuf import json_format

from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit import envelope


def _envelope(message) -> dict:
    type_ = message.DESCRIPTOR.full_name
    return envelope.build(service=type_.split(".")[1], id=str(uuid.uuid4()), type=type_, subject="s",
                          time=datetime.now(UTC), dataschema=f"proto:{type_}",
                          data=json_format.MessageToDict(message), correlation_id=None)


def _deal(owner: str) -> opportunities_pb2.Opportunity:
    deal_id = str(uuid.uuid4())
    return opportunities_pb2.Opportunity(name=f"opportunities/{deal_id}", id=deal_id, title="智慧园区",
                                         owner=f"users/{owner}", customer_company="浙江远大", amount="3000000.00",
                                         currency="CNY")


def test_a_big_deal_notifies_the_owner_and_each_manager_once_even_when_redelivered(worker, scalar):
    owner, manager, director = (str(uuid.uuid4()) for _ in range(3))
    body = _envelope(events_pb2.OpportunityBigDeal(
        opportunity=_deal(owner), amount="3000000.00", threshold="1000000",
        managers=[f"users/{manager}", f"users/{director}"]))
    worker.on_big_deal(body)
    worker.on_big_deal(body)
    for user in (owner, manager, director):
        assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r AND title = '大额商机：智慧园区'",
                      r=user) == 1
    assert scalar("SELECT count(*) FROM notifications WHERE source_event_id = :e", e=body["id"]) == 3


def test_a_stalled_deal_reminds_its_owner_with_the_days(worker, scalar):
    owner = str(uuid.uuid4())
    worker.on_stalled(_envelope(events_pb2.OpportunityStalled(opportunity=_deal(owner), stage="analysis",
                                                             max_days=14, days_in_stage=21)))
    body = scalar("SELECT body FROM notifications WHERE recipient_id = :r", r=owner)
    assert "21 天" in body and "14 天" in body


def test_the_approver_hears_of_a_sample_request_waiting_for_them(worker, scalar):
    approver, requester = str(uuid.uuid4()), str(uuid.uuid4())
    request_id = str(uuid.uuid4())
    request = samples_pb2.SampleRequest(name=f"sampleRequests/{request_id}", customer_company="浙江远大",
                                        requester=f"users/{requester}", total_quantity=40, estimated_cost="8000.00",
                                        currency="CNY")
    worker.on_sample_approval_requested(_envelope(sample_events.SampleApprovalRequested(
        request=request, tier="sales_director", approver=f"users/{approver}")))
    row = scalar("SELECT row_to_json(n) FROM notifications n WHERE recipient_id = :r", r=approver)
    assert row["title"] == "样品申请待你审批" and row["subject"] == f"sampleRequests/{request_id}"
    assert "40 件" in row["body"] and "sales_director" in row["body"]
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=requester) == 0
