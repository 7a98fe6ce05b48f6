from datetime import UTC, datetime

import pytest

from opportunities.domain import model
from shangji_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def stage(key: str, position: int, category: str = model.OPEN) -> model.Stage:
    return model.Stage(key=key, display_name=key.title(), category=category, probability=10, position=position)


SOFTWARE = model.Pipeline(id="p1", key="software", display_name="软件行业销售流程", is_default=True, stages=(
    model.Stage("discover", "发现机会", model.OPEN, 5, 1),
    model.Stage("validate", "验证机会", model.OPEN, 10, 2),
    model.Stage("won", "中标", model.WON, 100, 9),
    model.Stage("lost", "客户流失", model.LOST, 0, 10),
))


def register(**kw) -> model.Opportunity:
    args = {"id": "o1", "lead_id": "l1", "title": " 智能仓储系统 ", "customer_company": " 华东精密 ",
            "contact_name": "王经理", "contact_phone": "+8613800138000", "contact_email": "wang@example.com",
            "region": "上海", "source": "展会", "owner_id": "u1", "registrant_id": "u2", "pipeline": SOFTWARE,
            "now": NOW}
    args.update(kw)
    return model.register_from_lead(**args)


def test_a_registered_deal_starts_in_the_first_open_stage_and_records_its_registration():
    deal = register()
    assert (deal.stage_key, deal.stage_display_name, deal.pipeline_id) == ("discover", "发现机会", "p1")
    assert (deal.title, deal.customer_company) == ("智能仓储系统", "华东精密")
    assert (deal.name, deal.etag) == ("opportunities/o1", "1")
    assert deal.create_time == deal.update_time == NOW
    assert deal.events == [model.OpportunityRegistered(deal)]


def test_the_title_falls_back_to_the_company():
    assert register(title="  ").title == "华东精密"


def test_a_deal_needs_a_customer_company():
    with pytest.raises(InvalidArgument) as exc:
        register(title="", customer_company=" ")
    assert [v.field for v in exc.value.violations] == ["customer_company", "title"]


def test_the_first_open_stage_follows_positions_not_listing_order():
    pipeline = model.Pipeline(id="p2", key="k", display_name="K", is_default=False,
                              stages=(stage("won", 1, model.WON), stage("later", 3), stage("first", 2)))
    assert pipeline.first_open_stage().key == "first"
    assert pipeline.name == "pipelines/p2"


def test_a_pipeline_without_an_open_stage_cannot_take_deals():
    closed = model.Pipeline(id="p3", key="closed", display_name="C", is_default=False,
                            stages=(stage("won", 1, model.WON), stage("lost", 2, model.LOST)))
    with pytest.raises(FailedPrecondition) as exc:
        register(pipeline=closed)
    assert exc.value.reason == "NO_OPEN_STAGE"
