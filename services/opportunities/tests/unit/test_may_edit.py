"""Who may change a deal: the domain rule, no I/O."""

from datetime import UTC, datetime

import pytest

from opportunities.domain import model
from shangji_kit.errors import InvalidArgument

NOW = datetime(2026, 11, 25, tzinfo=UTC)
OWNER, OTHER = "owner", "other"


def deal(**kw) -> model.Opportunity:
    fields = {"id": "o1", "title": "智能仓储系统", "customer_company": "华东精密", "contact_name": "",
              "contact_phone": "", "contact_email": "", "region": "", "source": "", "owner_id": OWNER,
              "registrant_id": OWNER,
              "pipeline_id": "p1", "stage_key": "discover", "stage_display_name": "发现机会", "lead_id": None,
              "create_time": NOW, "update_time": NOW}
    fields.update(kw)
    return model.Opportunity(**fields)


@pytest.mark.parametrize(("editor", "allowed"), [
    (model.Editor(OWNER), True),
    (model.Editor(OWNER, active=False), True),  # a deactivated owner keeps what ownership gives
    (model.Editor(OTHER, team_can_edit=True), True),
    (model.Editor(OTHER, team_can_edit=False), False),  # on the team, read-only
    (model.Editor(OTHER, manages_owner=True), True),
    (model.Editor(OTHER), False),  # sees it (sales ops, say) or not: no right to change it
    (model.Editor(OTHER, active=False, team_can_edit=True), False),
    (model.Editor(OTHER, active=False, manages_owner=True), False),
    (model.Editor(OTHER, team_can_edit=False, manages_owner=True), True),
])
def test_owner_editing_team_members_and_managers_above_may_edit(editor, allowed):
    assert model.may_edit(editor, deal()) is allowed


def test_the_rule_follows_the_current_owner():
    handed_over = deal(owner_id=OTHER)
    assert model.may_edit(model.Editor(OTHER), handed_over)
    assert not model.may_edit(model.Editor(OWNER), handed_over)


def test_retitling_trims_moves_the_version_and_the_update_time():
    d = deal()
    later = datetime(2026, 11, 26, tzinfo=UTC)
    d.retitle("  智能仓储系统二期 ", later)
    assert (d.title, d.version, d.etag, d.update_time, d.create_time) == ("智能仓储系统二期", 2, "2", later, NOW)


@pytest.mark.parametrize(("title", "problem"), [("", "required"), ("   ", "required"),
                                                ("长" * 201, "at most 200 characters")])
def test_a_title_must_be_present_and_short_enough(title, problem):
    d = deal()
    with pytest.raises(InvalidArgument) as exc:
        d.retitle(title, NOW, "opportunity.title")
    assert [(v.field, v.description) for v in exc.value.violations] == [("opportunity.title", problem)]
    assert (d.title, d.version) == ("智能仓储系统", 1)
