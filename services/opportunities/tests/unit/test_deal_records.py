"""The deal's records in the domain: fields (difficulty, quote lines), the gates over the real collections, the
decision chain's rules, tasks made on stage entry, stage mappings for migrations and time in each stage."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opportunities.domain import decision_chain, gates, model, work
from opportunities.domain.decision_chain import DealContact
from opportunities.domain.pipeline import check_stage_mapping, pipeline_from_dict, pipeline_to_dict
from shangji_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def definition(**first_stage) -> dict:
    return {"key": "p", "display_name": "P", "stages": [
        {"key": "a", "display_name": "A", "probability": 10, **first_stage},
        {"key": "b", "display_name": "B", "probability": 50},
        {"key": "won", "display_name": "W", "category": "won", "probability": 100},
        {"key": "lost", "display_name": "L", "category": "lost", "probability": 0}]}


EVERY_COLLECTION = [{"decision_maker_identified": True}, {"requirements_answered": True},
                    {"document_present": "方案书"}, {"sample_approved": True}, {"sample_delivered": True}]


def deal(pipeline, **kw) -> model.Opportunity:
    return model.register(id="d1", title="t", customer_company="华东精密", owner_id="u1", registrant_id="u1",
                          pipeline=pipeline, now=NOW, **kw)


def test_the_gate_reads_the_deal_collections_and_lists_every_unmet_one():
    pipeline = pipeline_from_dict(definition(exit_criteria=EVERY_COLLECTION))
    d = deal(pipeline)
    d.collections_loader = model.Collections
    with pytest.raises(FailedPrecondition) as exc:
        d.advance(pipeline, "", "", "u1", NOW)
    assert [k for k, _ in exc.value.violations] == ["decision_maker_identified", "requirements_answered",
                                                    "document_present", "sample_approved", "sample_delivered"]
    d.collections_loader = lambda: model.Collections(
        decision_makers=1, requirements_total=2, requirements_answered=2, documents=frozenset({"方案书"}),
        approved_samples=1, delivered_samples=1)
    d.advance(pipeline, "", "", "u1", NOW)
    assert d.stage_key == "b"


def test_collections_are_read_only_when_a_gate_being_checked_needs_them():
    pipeline = pipeline_from_dict(definition(exit_criteria=[{"amount_positive": True}]))
    d = deal(pipeline, amount=Decimal("10"))
    reads = []
    d.collections_loader = lambda: reads.append(1) or model.Collections()
    d.advance(pipeline, "", "", "u1", NOW)
    assert (d.stage_key, reads) == ("b", [])
    assert gates.reads_collections([gates.criterion_from_dict(
        {"any_of": [{"amount_positive": True}, {"sample_delivered": True}]}, "c")])
    assert not gates.reads_collections([gates.criterion_from_dict({"all_of": [{"amount_positive": True}]}, "c")])


def test_sample_delivered_loads_and_round_trips():
    c = gates.criterion_from_dict({"sample_delivered": True}, "c")
    assert gates.criterion_to_dict(c) == {"sample_delivered": True}
    with pytest.raises(gates.CriterionError, match="takes no argument"):
        gates.criterion_from_dict({"sample_delivered": 2}, "c")


@pytest.mark.parametrize(("text", "expected"), [("", None), ("1.2", Decimal("1.2")), (" 0.5 ", Decimal("0.5"))])
def test_difficulty_parses_above_zero(text, expected):
    assert model.parse_difficulty(text, "opportunity.difficulty") == expected


@pytest.mark.parametrize("text", ["0", "-1", "abc", "NaN", "1.2345", "100000"])
def test_difficulty_refuses_zero_negative_and_malformed(text):
    with pytest.raises(InvalidArgument) as exc:
        model.parse_difficulty(text, "opportunity.difficulty")
    assert [v.field for v in exc.value.violations] == ["opportunity.difficulty"]


def test_quote_lines_name_every_bad_line_field():
    with pytest.raises(InvalidArgument) as exc:
        model.parse_quote_lines([("", "1", "2", ""), ("P1", "0", "-1", ""), ("P2", "x", "1", "")], "q")
    assert [v.field for v in exc.value.violations] == ["q[0].product", "q[1].quantity", "q[1].unit_price",
                                                       "q[2].quantity"]
    [line] = model.parse_quote_lines([(" P1 ", "2.5", "0", "样品")], "q")
    assert line == model.QuoteLine("P1", Decimal("2.5"), Decimal("0"), "样品")


def test_a_contact_needs_a_name_a_known_role_and_attitude_and_satisfaction_up_to_five():
    bad = DealContact(id="c", opportunity_id="d", display_name=" ", buying_role="boss", attitude="angry",
                      satisfaction=6)
    with pytest.raises(InvalidArgument) as exc:
        decision_chain.checked(bad)
    assert [v.field for v in exc.value.violations] == ["contact.display_name", "contact.buying_role",
                                                       "contact.attitude", "contact.satisfaction"]
    ok = decision_chain.checked(DealContact(id="c", opportunity_id="d", display_name=" 张总 ",
                                            buying_role="Decision_Maker"))
    assert (ok.display_name, ok.buying_role) == ("张总", "decision_maker")


def test_a_copied_chain_keeps_what_is_valid_and_drops_nameless_contacts():
    ids = (f"id{i}" for i in itertools.count())
    chain = [DealContact(id="", opportunity_id="", display_name="张总", buying_role="decision_maker", satisfaction=4),
             DealContact(id="", opportunity_id="", display_name="", email="", phone=""),
             DealContact(id="", opportunity_id="", display_name="李工", buying_role="cto", satisfaction=9)]
    copied = decision_chain.copied(chain, "d1", lambda: next(ids), NOW)
    assert [(c.id, c.opportunity_id, c.display_name, c.buying_role, c.satisfaction) for c in copied] == [
        ("id0", "d1", "张总", "decision_maker", 4), ("id1", "d1", "李工", "", 0)]


def test_tasks_on_entry_go_to_the_team_member_with_the_role_else_the_owner():
    pipeline = pipeline_from_dict(definition(tasks_on_entry=[
        {"title": "方案设计", "role": "presales", "due_in_days": 5}, {"title": "拜访客户", "due_in_days": 0},
        {"title": "法务审阅", "role": "legal"}]))
    ids = (f"t{i}" for i in itertools.count())
    stage = pipeline.first_open_stage()
    tasks = work.tasks_on_entry(stage, "d1", "owner", {"presales": "p1"}, lambda: next(ids), NOW)
    assert [(t.title, t.assignee_id, t.due_date, t.stage_key, t.status) for t in tasks] == [
        ("方案设计", "p1", NOW.date() + timedelta(days=5), "a", "open"), ("拜访客户", "owner", NOW.date(), "a", "open"),
        ("法务审阅", "owner", NOW.date(), "a", "open")]
    assert work.tasks_on_entry(stage, "d1", None, {}, lambda: next(ids), NOW) == []
    assert pipeline_from_dict(pipeline_to_dict(pipeline)) == pipeline


@pytest.mark.parametrize(("tasks", "field"), [
    ([{"title": ""}], "stages[0].tasks_on_entry[0].title"),
    ([{"title": "x", "due_in_days": -1}], "stages[0].tasks_on_entry[0].due_in_days"),
    ([{"title": "x", "owner": "y"}], "stages[0].tasks_on_entry[0]"),
    ("x", "stages[0].tasks_on_entry"),
])
def test_bad_tasks_on_entry_are_refused_precisely(tasks, field):
    with pytest.raises(InvalidArgument) as exc:
        pipeline_from_dict(definition(tasks_on_entry=tasks))
    assert [v.field for v in exc.value.violations] == [field]


def test_a_task_is_completed_once_and_reopened_once():
    task = work.new_task(id="t", opportunity_id="d", title="x", due_date=NOW.date(), assignee_id="u",
                         creator_id="c", now=NOW)
    task.complete("u", NOW)
    assert (task.status, task.completed_by) == ("done", "u")
    with pytest.raises(FailedPrecondition):
        task.complete("u", NOW)
    task.reopen()
    assert (task.status, task.completed_by, task.complete_time) == ("open", None, None)
    with pytest.raises(FailedPrecondition):
        task.reopen()


def test_a_new_task_lists_every_bad_field():
    with pytest.raises(InvalidArgument) as exc:
        work.new_task(id="t", opportunity_id="d", title=" ", due_date=NOW.date() - timedelta(days=1),
                      assignee_id=None, creator_id="c", now=NOW)
    assert [v.field for v in exc.value.violations] == ["task.title", "task.due_date", "task.assignee"]


def test_a_stage_mapping_names_unknown_stages_on_either_side_and_category_changes():
    old = pipeline_from_dict(definition(), version=1)
    new_def = definition()
    new_def["stages"][1]["key"] = "c"
    new = pipeline_from_dict(new_def, version=2)
    assert check_stage_mapping(old, new, {"a": "a", "b": "c"}) == {"a": "a", "b": "c"}
    with pytest.raises(InvalidArgument) as exc:
        check_stage_mapping(old, new, {"b": "b", "x": "a", "a": "won"})
    assert [v.field for v in exc.value.violations] == ["stage_mapping[a]", "stage_mapping[b]", "stage_mapping[x]"]
    with pytest.raises(InvalidArgument):
        check_stage_mapping(old, new, {})


def test_time_in_each_stage_sums_its_stays():
    t = [NOW + timedelta(hours=h) for h in range(6)]
    stays = [model.StageStay("a", t[0], t[1], None, ""), model.StageStay("b", t[1], t[3], None, ""),
             model.StageStay("a", t[3], t[4], None, "back"), model.StageStay("b", t[4], None, None, "")]
    assert model.time_in_stages(stays, t[5]) == [("a", 7200, 2), ("b", 3 * 3600, 2)]
