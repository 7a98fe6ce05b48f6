"""ListFollowUps: a lead's follow-ups, newest first, for whoever may see the lead (fixtures in conftest.py)."""

import uuid

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of


def test_follow_ups_page_newest_first_for_those_who_see_the_lead(as_user):
    _, holder = as_user()
    lead = holder.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="华创精密", contact_name="王伟", email=f"{uuid.uuid4().hex[:8]}@example.com")))
    made = [holder.AddFollowUp(leads_pb2.AddFollowUpRequest(name=lead.name, kind=kind, note=note)).name
            for kind, note in ((leads_pb2.FollowUp.CALL, "first call"), (leads_pb2.FollowUp.VISIT, "site visit"),
                               (leads_pb2.FollowUp.EMAIL, "sent the quote"))]
    names, token = [], ""
    while True:
        page = holder.ListFollowUps(leads_pb2.ListFollowUpsRequest(parent=lead.name, page_size=2, page_token=token))
        names += [f.name for f in page.follow_ups]
        token = page.next_page_token
        if not token:
            break
    assert names == list(reversed(made))
    first = holder.ListFollowUps(leads_pb2.ListFollowUpsRequest(parent=lead.name)).follow_ups[-1]
    assert (first.kind, first.note) == (leads_pb2.FollowUp.CALL, "first call")

    _, stranger = as_user()
    for parent in (lead.name, f"leads/{uuid.uuid4()}"):
        with pytest.raises(grpc.RpcError) as exc:
            stranger.ListFollowUps(leads_pb2.ListFollowUpsRequest(parent=parent))
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("fields", "field"), [({"parent": "lead/1"}, "parent"),
                                               ({"page_size": -1}, "page_size"),
                                               ({"page_token": "nope"}, "page_token")])
def test_bad_follow_up_lists_name_the_field(as_user, fields, field):
    _, caller = as_user()
    with pytest.raises(grpc.RpcError) as exc:
        caller.ListFollowUps(leads_pb2.ListFollowUpsRequest(**({"parent": f"leads/{uuid.uuid4()}"} | fields)))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == [field]
