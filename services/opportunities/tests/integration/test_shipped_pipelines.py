"""The pipelines a fresh database ships with (migrations 0003 and 0008)."""

import uuid

from shangji.opportunities.v1 import opportunities_pb2 as pb

SOFTWARE = "pipelines/6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c01"
MANUFACTURING = "pipelines/6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c02"


def test_the_shipped_pipelines_create_tasks_on_entering_their_work_stages(as_user):
    api = as_user(str(uuid.uuid4()))
    for name, stage, title, role in ((SOFTWARE, "analyse", "编写解决方案", "presales"),
                                     (MANUFACTURING, "project_validation", "安排试产验证", "engineer")):
        latest = api.GetPipeline(pb.GetPipelineRequest(name=name))
        assert latest.version >= 2
        tasks = {s.key: [(t.title, t.role) for t in s.tasks_on_entry] for s in latest.stages}
        assert tasks[stage] == [(title, role)]
        first = api.GetPipeline(pb.GetPipelineRequest(name=name, version=1))
        assert all(not s.tasks_on_entry for s in first.stages)  # version 1 stays as it was


def test_a_new_deal_follows_the_latest_shipped_version(register, as_user, scalar):
    owner = str(uuid.uuid4())
    deal = as_user(owner).GetOpportunity(pb.GetOpportunityRequest(name=register(owner)))
    assert deal.pipeline == SOFTWARE and deal.pipeline_version == scalar(
        "SELECT version FROM pipelines WHERE id = :p", p=SOFTWARE.split("/")[1])
