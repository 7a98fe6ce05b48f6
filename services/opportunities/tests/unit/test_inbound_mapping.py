"""Requests and leads' customer events read into commands: the request id, timestamps out of range, a customer's
owner. No I/O."""

from datetime import UTC, datetime

import pytest

from opportunities.entrypoints import from_event, from_request
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes

DEAL, CUSTOMER, OWNER = ("66666666-6666-4666-8666-666666666666", "44444444-4444-4444-8444-444444444444",
                         "11111111-1111-4111-8111-111111111111")
T = datetime(2026, 11, 25, 8, tzinfo=UTC)


def test_a_registration_carries_its_request_id_and_names_as_given():
    cmd = from_request.register_from_request(pb.RegisterOpportunityRequest(
        opportunity=pb.Opportunity(customer_company="C", product_lines=["ERP"], pipeline="pipelines/nope",
                                   customer=f"customers/{CUSTOMER}"), request_id="retry-1"))
    # Names are checked with the other fields by the use case, so a bad one is reported beside them.
    assert (cmd.request_id, cmd.pipeline, cmd.customer) == ("retry-1", "pipelines/nope", f"customers/{CUSTOMER}")


@pytest.mark.parametrize(("seconds", "nanos"), [(10**15, 0), (-(10**15), 0), (0, 2 * 10**9)])
def test_an_activity_time_out_of_range_names_the_field(seconds, nanos):
    activity = pb.Activity(kind="call")
    activity.occur_time.seconds, activity.occur_time.nanos = seconds, nanos
    with pytest.raises(InvalidArgument) as exc:
        from_request.activity_from_request(pb.AddActivityRequest(parent=f"opportunities/{DEAL}", activity=activity))
    assert [v.field for v in exc.value.violations] == ["activity.occur_time"]


def customer_env(kind: str, customer: leads_pb2.Customer) -> Envelope:
    message = getattr(events_pb2, kind)(customer=customer)
    return envelopes.parsed("leads", message, subject=customer.name, event_id="e1", time=T)


def test_a_customer_event_carries_its_owner_and_state_time():
    customer = leads_pb2.Customer(name=f"customers/{CUSTOMER}", owner=f"users/{OWNER}")
    customer.update_time.FromDatetime(T)
    owner = from_event.customer_owner_from_event(customer_env("CustomerUpdated", customer))
    assert (owner.customer_id, owner.owner_id, owner.update_time) == (CUSTOMER, OWNER, T)
    customer.owner = "bob"
    with pytest.raises(InvalidArgument) as exc:
        from_event.customer_owner_from_event(customer_env("CustomerCreated", customer))
    assert exc.value.violations[0].field == "customer.owner"
