"""The pipelines a fresh database ships with (migrations 0003, 0008 and 0015), as pipelines/*.yaml describe them."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf.field_mask_pb2 import FieldMask

from opportunities.domain.pipeline import pipeline_from_dict, pipeline_to_dict
from opportunities.entrypoints.from_request import pipeline_definition_from_proto
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of

SOFTWARE = "pipelines/6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c01"
MANUFACTURING = "pipelines/6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c02"
YAML = Path(__file__).parents[2] / "pipelines"
SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
# Roles teams lets a person hold in the organisation or on a deal's team (teams.domain.model, opportunity_teams).
TEAMS_ROLES = {"sales_rep", "sales_manager", "presales", "marketing", "service", "customer_success", "sales_ops",
               "admin", "account_manager", "solution_manager", "delivery_manager"}


def test_the_shipped_version_3_is_the_yaml_files(as_user):
    api = as_user(str(uuid.uuid4()))
    for name, key in ((SOFTWARE, "software"), (MANUFACTURING, "manufacturing")):
        # Version 3 (0015); another test of the session may load the YAML again as a later version.
        latest = api.GetPipeline(pb.GetPipelineRequest(name=name, version=3))
        shipped = yaml.safe_load((YAML / f"{key}.yaml").read_text(encoding="utf-8"))
        served = pipeline_definition_from_proto(latest)
        assert pipeline_to_dict(pipeline_from_dict(served)) == pipeline_to_dict(pipeline_from_dict(shipped))
        roles = {t.role for s in latest.stages for t in s.tasks_on_entry} | {i.role for s in latest.stages
                                                                              for i in s.checklist}
        assert roles <= TEAMS_ROLES, roles - TEAMS_ROLES


def test_the_shipped_pipelines_create_tasks_on_entering_their_work_stages(as_user):
    api = as_user(str(uuid.uuid4()))
    for name, stage, title in ((SOFTWARE, "analyse", "编写解决方案"),
                               (MANUFACTURING, "project_validation", "安排试产验证")):
        latest = api.GetPipeline(pb.GetPipelineRequest(name=name, version=3))
        tasks = {s.key: [(t.title, t.role) for t in s.tasks_on_entry] for s in latest.stages}
        assert tasks[stage] == [(title, "presales")]
        first = api.GetPipeline(pb.GetPipelineRequest(name=name, version=1))
        assert all(not s.tasks_on_entry for s in first.stages)  # version 1 stays as it was
        second = api.GetPipeline(pb.GetPipelineRequest(name=name, version=2))
        gates = [c.kind for s in second.stages for c in s.exit_criteria]
        assert "decision_maker_identified" not in gates  # so does version 2


def test_a_new_deal_follows_the_latest_shipped_version(register, as_user, scalar):
    owner = str(uuid.uuid4())
    deal = as_user(owner).GetOpportunity(pb.GetOpportunityRequest(name=register(owner)))
    assert deal.pipeline == SOFTWARE and deal.pipeline_version == scalar(
        "SELECT version FROM pipelines WHERE id = :p", p=SOFTWARE.split("/")[1])


def _refused(call, request) -> dict:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return details_of(exc.value)


def _add_decision_maker(api, deal: pb.Opportunity) -> None:
    api.AddDecisionChainContact(pb.AddDecisionChainContactRequest(parent=deal.name, contact=pb.DealContact(
        display_name="周总", title="总经理", buying_role="decision_maker")))


def test_software_leaves_its_decision_maker_stage_only_with_a_decision_maker_in_the_chain(as_user):
    owner = str(uuid.uuid4())
    api = as_user(owner)
    deal = api.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=f"决策客户{uuid.uuid4().hex[:8]}", contact_name="王经理", product_lines=["ERP"],
        pipeline=SOFTWARE)))
    deal = api.UpdateOpportunity(pb.UpdateOpportunityRequest(
        opportunity=pb.Opportunity(name=deal.name, expected_close_date=SOON, amount="1000",
                                   currency="CNY", checklist=["need_confirmed", "budget_confirmed",
                                                              "requirements_documented", "solution_presented",
                                                              "decision_maker_met"]),
        update_mask=FieldMask(paths=["expected_close_date", "amount", "currency", "checklist"])))
    for _ in range(4):
        deal = api.AdvanceStage(pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
    assert deal.stage == "decision_maker"
    details = _refused(api.AdvanceStage, pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
    assert [kind for kind, _ in details["preconditions"]] == ["decision_maker_identified"]
    # An influencer is not the decision maker.
    api.AddDecisionChainContact(pb.AddDecisionChainContactRequest(parent=deal.name, contact=pb.DealContact(
        display_name="李工", buying_role="influencer")))
    _refused(api.AdvanceStage, pb.AdvanceStageRequest(name=deal.name))
    _add_decision_maker(api, deal)
    assert api.AdvanceStage(pb.AdvanceStageRequest(name=deal.name)).stage == "perception"


def test_manufacturing_trial_task_goes_to_presales_and_the_win_needs_a_decision_maker(as_user, org, scalar):
    owner, presales = org.user(), org.user(roles=("presales",))
    api = as_user(owner)
    deal = api.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=f"制造客户{uuid.uuid4().hex[:8]}", product_lines=["冲压件"], expected_close_date=SOON,
        pipeline=MANUFACTURING)))
    org.add_member(deal.name, presales, role="presales")
    deal = api.CompleteChecklistItem(pb.CompleteChecklistItemRequest(name=deal.name, item="customer_visited"))
    deal = api.AdvanceStage(pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
    assert deal.stage == "project_validation"
    assert scalar("SELECT assignee_id::text FROM tasks WHERE opportunity_id = :d AND title = '安排试产验证'",
                  d=deal.id) == presales
    deal = api.CompleteChecklistItem(pb.CompleteChecklistItemRequest(name=deal.name, item="trial_passed"))
    details = _refused(api.WinOpportunity, pb.WinOpportunityRequest(name=deal.name, amount="90000"))
    assert [kind for kind, _ in details["preconditions"]] == ["decision_maker_identified"]
    _add_decision_maker(api, deal)
    won = api.WinOpportunity(pb.WinOpportunityRequest(name=deal.name, amount="90000"))
    assert (won.stage, won.amount) == ("project_import", "90000.00")
