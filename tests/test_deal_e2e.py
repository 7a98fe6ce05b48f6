"""A deal from registration to win through its gates, across the suite and through gRPC only (issue 4): a refused
advance lists every unmet criterion; the deal's records (checklist, documents, decision chain, tasks) and a sample
approval published on the broker open the gates."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit import envelope
from shangji_kit.publisher import EventPublisher
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.wait import eventually

SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.value.details()
    return exc.value


def test_a_converted_lead_is_won_through_every_gate_of_the_software_pipeline(new_rep):
    rep = new_rep()
    rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=rep.new_lead().name, opportunity_title="MES 一期"))
    [deal] = eventually(rep.opportunities_list, what="opportunity registered from the conversion")
    api = rep.opportunities

    unmet = refused(api.AdvanceStage, pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
    assert details_of(unmet)["reason"] == "EXIT_CRITERIA_UNMET"
    assert details_of(unmet)["preconditions"] == [
        ("required_fields", "expected_close_date is required"),
        ("checklist_completed", "checklist item 'need_confirmed' (确认客户有明确需求) is not completed")]
    assert api.GetOpportunity(pb.GetOpportunityRequest(name=deal.name)).etag == deal.etag  # nothing changed

    deal = api.UpdateOpportunity(pb.UpdateOpportunityRequest(
        opportunity=pb.Opportunity(name=deal.name, expected_close_date=SOON, amount="260000.00", currency="CNY",
                                   product_lines=["MES"], difficulty="1.3",
                                   quote_lines=[pb.QuoteLine(product="MES-STD", quantity="1",
                                                             unit_price="260000")]),
        update_mask=FieldMask(paths=["expected_close_date", "amount", "currency", "product_lines", "difficulty",
                                     "quote_lines"]), etag=deal.etag))
    api.AddDecisionChainContact(pb.AddDecisionChainContactRequest(parent=deal.name, contact=pb.DealContact(
        display_name="周总", title="总经理", buying_role="decision_maker", attitude="supportive")))
    items = ["need_confirmed", "budget_confirmed", "requirements_documented", "solution_presented",
             "decision_maker_met", "competition_analysed", "quote_sent"]
    path = []
    for item in items:
        deal = api.CompleteChecklistItem(pb.CompleteChecklistItemRequest(name=deal.name, item=item, etag=deal.etag))
        deal = api.AdvanceStage(pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
        path.append(deal.stage)
    assert path == ["validate", "analyse", "value", "decision_maker", "perception", "proposal", "negotiation"]

    # Negotiation's gate: the contract reviewed, or a document named 合同 on the deal.
    gate = refused(api.WinOpportunity, pb.WinOpportunityRequest(name=deal.name, etag=deal.etag))
    assert [k for k, _ in details_of(gate)["preconditions"]] == ["any_of"]
    api.AddDocumentVersion(pb.AddDocumentVersionRequest(parent=deal.name, document=pb.DocumentVersion(
        document="合同", uri="s3://contracts/mes-1.pdf")))
    won = api.WinOpportunity(pb.WinOpportunityRequest(name=deal.name, etag=deal.etag))
    assert (won.stage_category, won.amount, won.difficulty) == ("won", "260000.00", "1.3")
    history = api.ListStageHistory(pb.ListStageHistoryRequest(name=deal.name))
    assert [d.stage for d in history.stage_durations] == ["discover", *path, "won"]
    completions = api.ListChecklistCompletions(pb.ListChecklistCompletionsRequest(name=deal.name)).completions
    assert {c.item for c in completions} == set(items) and {c.completed_by for c in completions} == {rep.user.name}


def _publish_sample_approved(deal_name: str) -> None:
    """SampleRequestApproved on samples' exchange, as the samples service's relay would publish it."""
    request_id = str(uuid.uuid4())
    message = sample_events.SampleRequestApproved(
        request=samples_pb2.SampleRequest(name=f"sampleRequests/{request_id}", id=request_id, opportunity=deal_name),
        approver=f"users/{uuid.uuid4()}")
    full = message.DESCRIPTOR.full_name
    env = envelope.build(service="samples", id=str(uuid.uuid4()), type=full, subject=f"sampleRequests/{request_id}",
                         time=datetime.now(UTC), dataschema=f"proto:{full}", data=json_format.MessageToDict(message),
                         correlation_id=None)
    publisher = EventPublisher(Settings.for_service("samples").amqp_uri, "samples")
    try:
        publisher.publish(env)
        publisher.publish(env)  # delivered twice: counted once
    finally:
        publisher.close()


def test_an_approved_sample_from_the_broker_opens_the_manufacturing_gate(new_rep):
    rep = new_rep()
    api = rep.opportunities
    [pipeline] = [p for p in api.ListPipelines(pb.ListPipelinesRequest(page_size=200)).pipelines
                  if p.key == "manufacturing"]
    deal = api.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=f"华东汽车零部件{uuid.uuid4().hex[:6]}", product_lines=["冲压件"], expected_close_date=SOON,
        pipeline=pipeline.name)))
    deal = api.CompleteChecklistItem(pb.CompleteChecklistItemRequest(name=deal.name, item="customer_visited"))
    deal = api.AdvanceStage(pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
    assert deal.stage == "project_validation"
    # The shipped pipeline (version 3) also wants the decision maker known before the win.
    api.AddDecisionChainContact(pb.AddDecisionChainContactRequest(parent=deal.name, contact=pb.DealContact(
        display_name="孙总", buying_role="decision_maker")))

    gate = refused(api.WinOpportunity, pb.WinOpportunityRequest(name=deal.name, etag=deal.etag, amount="90000"))
    assert [k for k, _ in details_of(gate)["preconditions"]] == ["any_of"]
    assert "no sample request is approved" in details_of(gate)["preconditions"][0][1]
    _publish_sample_approved(deal.name)

    def win():
        try:
            return api.WinOpportunity(pb.WinOpportunityRequest(name=deal.name, etag=deal.etag, amount="90000"))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.details()
            return None

    won = eventually(win, what="the sample approval counted by opportunities")
    assert (won.stage, won.amount) == ("project_import", "90000.00")
