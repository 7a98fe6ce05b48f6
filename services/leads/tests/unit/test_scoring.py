"""Scoring, customers and the source report's arithmetic, without I/O."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leads.domain import campaigns, customers, model, scoring
from shangji_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 11, 25, tzinfo=UTC)
SETTINGS = scoring.ScoringSettings(
    rules=(scoring.ScoringRule("industry", ("Textiles",), 20), scoring.ScoringRule("title", ("director",), 15),
           scoring.ScoringRule("source", ("trade fair",), 5)),
    behaviour_points={"visit": 10, "reply": 15, "follow_up": 5}, mql_threshold=30, sql_threshold=40,
    sql_requires=("phone", "flag:budget"))


def lead(**kw) -> model.Lead:
    args = {"id": "l1", "company": "Xihu Tea", "contact_name": "Wang", "phone": "138 0013 8000", "email": "",
            "region": "Zhejiang", "source": "Trade  Fair", "owner_id": "u1", "now": NOW, "industry": "textiles",
            "contact_title": "Sales Director"}
    args.update(kw)
    return model.new_lead(**args)


def test_attribute_rules_match_folded_values_and_titles_by_substring():
    parts = scoring.score_parts(lead(), SETTINGS)
    assert [(p.key, p.points) for p in parts] == [("industry", 20), ("title", 15), ("source", 5)]
    assert scoring.score_parts(lead(industry="tea", contact_title="", source=""), SETTINGS) == ()


def test_qualification_moves_both_ways_and_each_move_is_an_event():
    subject = lead()
    subject.events.clear()
    assert scoring.rescore(subject, SETTINGS, NOW) and subject.qualification == scoring.MQL  # 40, no budget flag
    subject.flags = ("budget",)
    scoring.rescore(subject, SETTINGS, NOW)
    assert subject.qualification == scoring.SQL
    subject.industry = "tea"
    scoring.rescore(subject, SETTINGS, NOW)
    assert (subject.score, subject.qualification) == (20, scoring.UNQUALIFIED)
    scoring.record_behaviour(subject, "reply", SETTINGS, NOW)
    assert (subject.score, subject.qualification) == (35, scoring.MQL)
    assert [(e.from_qualification, e.to_qualification, e.score) for e in subject.events] == [
        ("UNQUALIFIED", "MQL", 40), ("MQL", "SQL", 40), ("SQL", "UNQUALIFIED", 20), ("UNQUALIFIED", "MQL", 35)]
    assert not scoring.rescore(subject, SETTINGS, NOW)  # nothing changed: nothing to save
    assert scoring.missing_for_next(subject, SETTINGS) == ["score 35 < 40"]


def test_behaviours_must_be_known_not_in_the_future_and_on_an_open_lead():
    for kind, when, field in (("dance", NOW, "type"), ("follow_up", NOW, "type"),
                              ("visit", NOW + timedelta(1), "occur_time")):
        with pytest.raises(InvalidArgument) as exc:
            scoring.check_behaviour(kind, when, NOW, SETTINGS)
        assert [v.field for v in exc.value.violations] == [field]
    assert scoring.check_behaviour(" Visit ", NOW, NOW, SETTINGS) == "visit"
    closed = lead()
    closed.state = model.CONVERTED
    with pytest.raises(FailedPrecondition):
        scoring.record_behaviour(closed, "visit", SETTINGS, NOW)


def test_conversion_gate_follows_the_settings():
    subject = lead()
    scoring.rescore(subject, SETTINGS, NOW)
    assert scoring.is_qualified_for_conversion(subject, SETTINGS)
    assert scoring.is_qualified_for_conversion(subject, scoring.ScoringSettings(convert_requires="MQL"))
    strict = scoring.ScoringSettings(**{**SETTINGS.__dict__, "convert_requires": "SQL"})
    assert not scoring.is_qualified_for_conversion(subject, strict)


def test_customers_and_contacts_are_normalised_and_checked():
    customer = customers.new_customer(id="c1", values={"display_name": " Xihu  Tea Co., Ltd. ", "grade": "a"},
                                      owner_id="u1", grades=("A", "B"), now=NOW)
    assert (customer.display_name, customer.grade, customer.keys) == ("Xihu Tea Co., Ltd.", "A", ("xihutea", ""))
    with pytest.raises(InvalidArgument) as exc:
        customers.new_customer(id="c2", values={"display_name": "", "grade": "Z"}, owner_id="u1", grades=("A",),
                               now=NOW)
    assert [v.field for v in exc.value.violations] == ["customer.display_name", "customer.grade"]
    contact = customers.new_contact(id="p1", customer_id="c1", now=NOW, values={
        "display_name": "Wang", "phone": "138 0013 8000", "buying_role": "Influencer"})
    assert (contact.phone, contact.buying_role) == ("+8613800138000", "influencer")
    assert customers.update_contact(contact, {"attitude": "opposed", "buying_role": "influencer"}, NOW) == ("attitude",)
    assert contact.version == 2
    with pytest.raises(InvalidArgument):
        customers.update_contact(contact, {"phone": ""}, NOW)
    event = customers.chain_changed(customer, (contact,), NOW)
    assert (event.revision, customer.chain_revision) == (1, 1)


def test_report_rows_divide_only_where_one_currency_makes_sense():
    row = campaigns.report_row(campaigns.Tally("campaigns/1", "Fair", leads=4, mql=2, sql=1, conversions=1,
                                               won={"CNY": Decimal("9000")}, cost={"CNY": Decimal("3000")}))
    assert (row.cost, row.cost_per_lead, row.return_on_spend, row.won_amount, row.currency) == (
        "3000.00", "750.00", "3.0000", "9000.00", "CNY")
    mixed = campaigns.report_row(campaigns.Tally("web", "web", leads=2, mql=0, sql=0, conversions=0,
                                                 won={"USD": Decimal("10")}, cost={"CNY": Decimal("100")}))
    assert (mixed.cost_per_lead, mixed.return_on_spend, mixed.currency) == ("50.00", "", "")
    free = campaigns.report_row(campaigns.Tally("referral", "referral", leads=0, mql=0, sql=0, conversions=0,
                                                won={}, cost={}))
    assert (free.cost, free.cost_per_lead, free.return_on_spend, free.won_amount) == ("", "", "", "0.00")


def test_the_conversion_gate_rescores_a_stale_lead_and_lets_only_a_manager_force_it():
    import dataclasses

    from shangji_kit.errors import PermissionDenied

    below = lead(industry="tea", contact_title="", source="")  # scores 0
    gate = dataclasses.replace(SETTINGS, convert_requires="MQL")
    with pytest.raises(FailedPrecondition) as exc:
        scoring.check_conversion_gate(below, gate, NOW, force=False, by_manager=True)
    assert exc.value.reason == "LEAD_NOT_QUALIFIED" and exc.value.metadata["required"] == "MQL"
    with pytest.raises(PermissionDenied):
        scoring.check_conversion_gate(below, gate, NOW, force=True, by_manager=False)
    scoring.check_conversion_gate(below, gate, NOW, force=True, by_manager=True)
    # Scored with version 1; rules in force (version 2) make it an MQL: judged by those, it converts.
    stale = lead()
    newer = dataclasses.replace(gate, version=2)
    scoring.check_conversion_gate(stale, newer, NOW, force=False, by_manager=False)
    assert stale.scored_with == 2
