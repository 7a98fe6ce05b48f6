"""The gate engine over every criterion kind and the combinators, and the pipeline loader's errors."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from opportunities.domain import gates
from opportunities.domain.pipeline import pipeline_from_dict, pipeline_to_dict
from shangji_kit.errors import InvalidArgument

PIPELINES = Path(__file__).parents[2] / "pipelines"


def load(data: object) -> list[gates.Unmet]:
    return gates.criterion_from_dict(data, "c")


def kinds(unmet: list[gates.Unmet]) -> list[str]:
    return [u.kind for u in unmet]


def test_required_fields_lists_each_empty_field():
    c = load({"required_fields": ["amount", "currency", "expected_close_date", "product_lines"]})
    unmet = gates.evaluate([c], gates.Evidence(values={"amount": Decimal("1"), "currency": " ", "product_lines": []}))
    assert [u.description for u in unmet] == ["currency is required", "expected_close_date is required",
                                              "product_lines is required"]


def test_checklist_completed_names_each_missing_item_with_its_label():
    c = load({"checklist_completed": ["a", "b"]})
    unmet = gates.evaluate([c], gates.Evidence(checklist=frozenset({"a"}), checklist_labels={"b": "报价单已发送"}))
    assert unmet == [gates.Unmet("checklist_completed", "checklist item 'b' (报价单已发送) is not completed")]
    assert gates.evaluate([c], gates.Evidence(checklist=frozenset({"a", "b"}))) == []


@pytest.mark.parametrize(("kind", "met", "unmet"), [
    ("decision_maker_identified", gates.Evidence(decision_makers=1), gates.Evidence()),
    ("requirements_answered", gates.Evidence(requirements_total=3, requirements_answered=3),
     gates.Evidence(requirements_total=3, requirements_answered=1)),
    ("sample_approved", gates.Evidence(approved_samples=1), gates.Evidence()),
    ("sample_delivered", gates.Evidence(delivered_samples=2), gates.Evidence(approved_samples=1)),
    ("amount_positive", gates.Evidence(values={"amount": Decimal("0.01")}),
     gates.Evidence(values={"amount": Decimal("0")})),
])
def test_flag_criteria(kind, met, unmet):
    c = load({kind: True})
    assert gates.evaluate([c], met) == []
    assert kinds(gates.evaluate([c], unmet)) == [kind]


def test_requirements_answered_needs_recorded_items_and_says_how_many_are_open():
    c = load({"requirements_answered": True})
    assert gates.evaluate([c], gates.Evidence())[0].description == "no requirement items are recorded"
    assert gates.evaluate([c], gates.Evidence(requirements_total=3, requirements_answered=1))[0].description == \
        "2 of 3 requirement items are unanswered"


def test_amount_positive_when_amount_missing():
    assert kinds(gates.evaluate([load({"amount_positive": True})], gates.Evidence())) == ["amount_positive"]


def test_document_present():
    c = load({"document_present": "合同"})
    assert gates.evaluate([c], gates.Evidence(documents=frozenset({"合同"}))) == []
    assert gates.evaluate([c], gates.Evidence()) == [gates.Unmet("document_present", "document '合同' is not attached")]


def test_all_of_returns_every_unmet_child():
    c = load({"all_of": [{"amount_positive": True}, {"document_present": "方案书"}, {"sample_approved": True}]})
    assert kinds(gates.evaluate([c], gates.Evidence(approved_samples=1))) == ["amount_positive", "document_present"]


def test_any_of_holds_when_one_branch_holds_else_describes_all_alternatives():
    c = load({"any_of": [{"checklist_completed": ["contract_reviewed"]}, {"document_present": "合同"}]})
    assert gates.evaluate([c], gates.Evidence(documents=frozenset({"合同"}))) == []
    (unmet,) = gates.evaluate([c], gates.Evidence())
    assert unmet.kind == "any_of"
    assert "'contract_reviewed' is not completed" in unmet.description and "'合同'" in unmet.description


def test_nested_combinators_and_every_top_level_criterion_reported():
    criteria = [load({"required_fields": ["expected_close_date"]}),
                load({"any_of": [{"all_of": [{"amount_positive": True}, {"sample_approved": True}]},
                                 {"decision_maker_identified": True}]})]
    assert kinds(gates.evaluate(criteria, gates.Evidence())) == ["required_fields", "any_of"]
    ok = gates.Evidence(values={"expected_close_date": "2030-01-01", "amount": Decimal(5)}, approved_samples=1)
    assert gates.evaluate(criteria, ok) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"budget_known": True}, "unknown criterion kind 'budget_known'"),
    ({"required_fields": ["colour"]}, "unknown field 'colour'"),
    ({"required_fields": []}, "non-empty list"),
    ({"document_present": ""}, "must name the document"),
    ({"any_of": []}, "non-empty list of criteria"),
    ({"amount_positive": 1}, "takes no argument"),
    ({"amount_positive": True, "sample_approved": True}, "exactly one key"),
    ({"all_of": [{"oops": True}]}, "c.all_of[0]: unknown criterion kind 'oops'"),
])
def test_bad_criteria_are_refused_precisely(data, message):
    with pytest.raises(gates.CriterionError) as exc:
        load(data)
    assert message in str(exc.value)


def test_criteria_round_trip_through_their_dict_form():
    data = {"any_of": [{"required_fields": ["amount"]}, {"checklist_completed": ["x"]}, {"document_present": "d"},
                       {"all_of": [{"sample_approved": True}]}]}
    assert gates.criterion_to_dict(load(data)) == data


def _definition(**stage_changes) -> dict:
    return {"key": "demo", "display_name": "Demo", "lost_reasons": ["价格"], "stages": [
        {"key": "one", "display_name": "一", "probability": 10,
         "checklist": {"sales_rep": [{"key": "visit", "description": "拜访"}]},
         "exit_criteria": [{"checklist_completed": ["visit"]}], **stage_changes},
        {"key": "two", "display_name": "二", "probability": 50},
        {"key": "won", "display_name": "赢", "category": "won", "probability": 100},
        {"key": "lost", "display_name": "输", "category": "lost", "probability": 0}]}


def test_an_unknown_criterion_is_refused_naming_the_stage_and_the_kind():
    with pytest.raises(InvalidArgument) as exc:
        pipeline_from_dict(_definition(exit_criteria=[{"budget_known": True}]))
    (v,) = exc.value.violations
    assert v.field == "stages[0].exit_criteria[0]"
    assert v.description.startswith("stage 'one': unknown criterion kind 'budget_known'")


def test_every_problem_of_a_definition_is_listed():
    data = _definition(exit_criteria=[{"checklist_completed": ["nope"]}], probability=101, colour="red")
    data["stages"].append({"key": "two", "display_name": "again", "probability": 1})
    with pytest.raises(InvalidArgument) as exc:
        pipeline_from_dict(data)
    fields = [v.field for v in exc.value.violations]
    assert fields == ["stages[0].colour", "stages[0].probability", "stages[0].exit_criteria[0].checklist_completed"]


@pytest.mark.parametrize(("change", "message"), [
    ({"stages": []}, "non-empty list of stages"),
    ({"key": "Bad Key"}, "lower-case"),
    ({"version": 3}, "unknown setting"),
])
def test_pipeline_level_errors(change, message):
    with pytest.raises(InvalidArgument) as exc:
        pipeline_from_dict({**_definition(), **change})
    assert message in str(exc.value)


def test_stage_order_rules():
    data = _definition()
    data["stages"] = data["stages"][:1] + data["stages"][2:3]  # no lost stage
    with pytest.raises(InvalidArgument) as exc:
        pipeline_from_dict(data)
    assert "exactly one lost stage is required" in str(exc.value)


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipelines_load_and_round_trip(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pipeline = pipeline_from_dict(data)
    assert pipeline_from_dict(pipeline_to_dict(pipeline)) == pipeline
    assert pipeline.stages[0].exit_criteria[0].fields[0] == "expected_close_date"


def test_skipping_is_refused_unless_allowed():
    pipeline = pipeline_from_dict(_definition())
    one, two, won = pipeline.stages[0], pipeline.stages[1], pipeline.stages[2]
    assert pipeline.stages_passed(one, two) == [one]
    with pytest.raises(Exception) as exc:
        pipeline.stages_passed(one, won)
    assert exc.value.reason == "STAGE_SKIPPING_NOT_ALLOWED"
    skipping = pipeline_from_dict({**_definition(), "allows_skipping": True})
    assert [s.key for s in skipping.stages_passed(skipping.stages[0], skipping.stages[2])] == ["one", "two"]
