"""Reading leads' and samples' events and the records' messages, and writing the task events: no I/O."""

from datetime import UTC, date, datetime

import pytest

from opportunities.adapters import event_encoder, to_proto
from opportunities.domain import work
from opportunities.domain.pipeline import pipeline_from_dict
from opportunities.entrypoints import from_event, from_request
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes

CUSTOMER, CONTACT, DEAL = ("44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555",
                           "66666666-6666-4666-8666-666666666666")
T = datetime(2026, 11, 25, 8, tzinfo=UTC)


def env(service: str, message) -> Envelope:
    return envelopes.parsed(service, message, subject="s", event_id="e1", time=T)


def converted(**kw) -> events_pb2.LeadConverted:
    lead = leads_pb2.Lead(name="leads/33333333-3333-4333-8333-333333333333",
                          id="33333333-3333-4333-8333-333333333333", company="华东精密",
                          owner="users/11111111-1111-4111-8111-111111111111")
    return events_pb2.LeadConverted(lead=lead, **kw)


def test_a_conversion_carries_its_customer_chain_and_the_no_deal_flag():
    cmd = from_event.registration_from_event(env("leads", converted(
        customer=f"customers/{CUSTOMER}", without_opportunity=True, decision_chain=[
            leads_pb2.DecisionChainContact(contact=f"contacts/{CONTACT}", name="张总", buying_role="decision_maker",
                                           attitude="supportive", satisfaction=5, phone="+8613800138000")])))
    assert (cmd.customer_id, cmd.without_opportunity) == (CUSTOMER, True)
    [c] = cmd.decision_chain
    assert (c.contact_id, c.display_name, c.buying_role, c.attitude, c.satisfaction, c.phone) == (
        CONTACT, "张总", "decision_maker", "supportive", 5, "+8613800138000")
    plain = from_event.registration_from_event(env("leads", converted()))
    assert (plain.customer_id, plain.decision_chain, plain.without_opportunity) == (None, (), False)


@pytest.mark.parametrize(("change", "field"), [({"customer": "clients/x"}, "customer"),
                                               ({"decision_chain": [leads_pb2.DecisionChainContact(contact="c/1")]},
                                                "decision_chain[0].contact")])
def test_a_malformed_conversion_names_the_field(change, field):
    with pytest.raises(InvalidArgument) as exc:
        from_event.registration_from_event(env("leads", converted(**change)))
    assert [v.field for v in exc.value.violations] == [field]


def test_a_customer_chain_event_carries_revision_contacts_and_time():
    message = events_pb2.CustomerDecisionChainChanged(customer=f"customers/{CUSTOMER}", revision=7, contacts=[
        leads_pb2.DecisionChainContact(name="李工", buying_role="user")])
    message.change_time.FromDatetime(T)
    chain = from_event.customer_chain_from_event(env("leads", message))
    assert (chain.customer_id, chain.revision, chain.change_time) == (CUSTOMER, 7, T)
    assert [(c.display_name, c.buying_role, c.contact_id) for c in chain.contacts] == [("李工", "user", None)]


def test_sample_events_name_the_request_the_deal_and_the_kind():
    request = samples_pb2.SampleRequest(name="sampleRequests/r1", opportunity=f"opportunities/{DEAL}")
    approved = from_event.sample_from_event(env("samples", sample_events.SampleRequestApproved(request=request)))
    delivered = from_event.sample_from_event(env("samples", sample_events.SampleDelivered(request=request)))
    assert (approved.request_id, approved.opportunity_id, approved.kind, approved.time) == ("r1", DEAL, "approved", T)
    assert delivered.kind == "delivered"


def test_task_events_carry_the_task_and_its_deal():
    task = work.Task(id="77777777-7777-4777-8777-777777777777", opportunity_id=DEAL, title="编写方案",
                     due_date=date(2026, 12, 1), assignee_id=CUSTOMER, create_time=T, stage_key="design")
    message, subject = event_encoder.encode(work.TaskCreated(task, "MES 一期"))
    assert isinstance(message, opportunity_events.TaskCreated)
    assert subject == f"opportunities/{DEAL}/tasks/{task.id}"
    assert (message.task.assignee, message.task.due_date, message.task.status, message.task.creator) == (
        f"users/{CUSTOMER}", "2026-12-01", pb.Task.OPEN, "")
    assert (message.opportunity_title, message.task.opportunity, message.task.stage) == (
        "MES 一期", f"opportunities/{DEAL}", "design")
    task.complete(CUSTOMER, T)
    message, _ = event_encoder.encode(work.TaskCompleted(task, CUSTOMER))
    assert (message.actor, message.task.status, message.task.completed_by) == (
        f"users/{CUSTOMER}", pb.Task.DONE, f"users/{CUSTOMER}")


def test_tasks_on_entry_travel_through_the_pipeline_message():
    definition = {"key": "p", "display_name": "P", "stages": [
        {"key": "a", "display_name": "A", "probability": 10,
         "tasks_on_entry": [{"title": "编写方案", "role": "presales", "due_in_days": 7}]},
        {"key": "won", "display_name": "W", "category": "won", "probability": 100},
        {"key": "lost", "display_name": "L", "category": "lost", "probability": 0}]}
    pipeline = pipeline_from_dict(definition)
    message = to_proto.pipeline_to_proto(pipeline)
    assert [(t.title, t.role, t.due_in_days) for t in message.stages[0].tasks_on_entry] == [("编写方案", "presales", 7)]
    assert pipeline_from_dict(from_request.pipeline_definition_from_proto(message)) == pipeline


@pytest.mark.parametrize(("name", "collection", "field"), [
    ("opportunities/x/tasks/y", "tasks", "name"), (f"opportunities/{DEAL}/contacts/{DEAL}", "tasks", "name"),
    (f"opportunities/{DEAL}/tasks/nope", "tasks", "name")])
def test_child_names_are_parsed_strictly(name, collection, field):
    with pytest.raises(InvalidArgument) as exc:
        from_request.child_ids(name, collection, field)
    assert [v.field for v in exc.value.violations] == [field]
    assert from_request.child_ids(f"opportunities/{DEAL}/tasks/{CUSTOMER}", "tasks") == (DEAL, CUSTOMER)
