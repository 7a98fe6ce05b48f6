from datetime import UTC, datetime, timedelta

import pytest

from leads.domain import model
from shangji_kit.errors import Aborted, FailedPrecondition, InvalidArgument

NOW = datetime(2026, 11, 25, tzinfo=UTC)
OWNER = "0b6f1b55-3f0e-4a8e-9a53-2f4c1f3f8d11"


def make(**kw):
    args = {"id": "l1", "company": "  Hangzhou   Xihu  Tea Co. ", "contact_name": " Wang Fang ",
            "phone": "138 0013 8000", "email": " Wang.Fang@Example.COM ", "region": " Zhejiang ",
            "source": " trade fair ", "owner_id": OWNER, "now": NOW}
    args.update(kw)
    return model.new_lead(**args)


def fields_of(exc) -> list[str]:
    return [v.field for v in exc.value.violations]


def test_new_lead_is_normalised_open_and_records_its_creation():
    lead = make()
    assert (lead.company, lead.contact_name, lead.phone, lead.email, lead.region, lead.source) == (
        "Hangzhou Xihu Tea Co.", "Wang Fang", "+8613800138000", "wang.fang@example.com", "Zhejiang", "trade fair")
    assert lead.state == model.OPEN and lead.convert_time is None
    assert lead.name == "leads/l1" and lead.etag == "1"
    assert lead.owner_id == OWNER and lead.create_time == lead.update_time == NOW
    assert [type(e) for e in lead.events] == [model.LeadCreated]
    assert lead.events[0].lead is lead


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidArgument) as exc:
        make(company=" ", contact_name="", phone="12", email="not-an-email", region="r" * 101, source="s" * 101)
    assert fields_of(exc) == ["lead.company", "lead.contact_name", "lead.phone", "lead.email", "lead.region",
                              "lead.source"]


def test_company_and_contact_name_have_length_limits():
    with pytest.raises(InvalidArgument) as exc:
        make(company="c" * 201, contact_name="n" * 101)
    assert fields_of(exc) == ["lead.company", "lead.contact_name"]
    assert [v.description for v in exc.value.violations] == ["at most 200 characters", "at most 100 characters"]
    lead = make(company="c" * 200, contact_name="n" * 100, region="r" * 100, source="s" * 100)
    assert len(lead.company) == 200


def test_company_length_counts_after_whitespace_is_folded():
    assert make(company="a" * 100 + "     " + "b" * 99).company == "a" * 100 + " " + "b" * 99


def test_one_of_phone_or_email_is_required():
    with pytest.raises(InvalidArgument) as exc:
        make(phone=" ", email="")
    assert [(v.field, v.description) for v in exc.value.violations] == [
        ("lead.phone", "one of phone or email is required")]


def test_phone_alone_or_email_alone_is_enough():
    assert (make(email="").phone, make(email="").email) == ("+8613800138000", "")
    assert (make(phone="").phone, make(phone="").email) == ("", "wang.fang@example.com")


def test_malformed_phone_or_email_is_named():
    with pytest.raises(InvalidArgument) as exc:
        make(phone="0000")
    assert fields_of(exc) == ["lead.phone"]
    with pytest.raises(InvalidArgument) as exc:
        make(email="wang@fang")
    assert fields_of(exc) == ["lead.email"]


def test_region_and_source_are_optional():
    lead = make(region="", source="")
    assert (lead.region, lead.source) == ("", "")


def test_convert_closes_the_lead_and_records_the_event():
    lead = make()
    lead.events.clear()
    later = NOW + timedelta(hours=1)
    lead.convert(by_user_id=OWNER, title="  Spring   tea order ", now=later, expected_etag="1")
    assert (lead.state, lead.convert_time, lead.update_time, lead.etag) == (model.CONVERTED, later, later, "2")
    assert lead.events == [model.LeadConverted(lead=lead, converted_by=OWNER, opportunity_title="Spring tea order",
                                               convert_time=later)]


def test_the_opportunity_title_defaults_to_the_company_and_the_etag_is_optional():
    lead = make()
    lead.convert(by_user_id=OWNER, title=" ", now=NOW, expected_etag="")
    assert lead.events[-1].opportunity_title == "Hangzhou Xihu Tea Co."


def test_a_stale_etag_is_aborted_and_changes_nothing():
    lead = make()
    with pytest.raises(Aborted) as exc:
        lead.convert(by_user_id=OWNER, title="", now=NOW, expected_etag="7")
    assert exc.value.reason == "ETAG_MISMATCH"
    assert (lead.state, lead.version, len(lead.events)) == (model.OPEN, 1, 1)


def test_converting_twice_is_a_failed_precondition():
    lead = make()
    lead.convert(by_user_id=OWNER, title="", now=NOW)
    with pytest.raises(FailedPrecondition) as exc:
        lead.convert(by_user_id=OWNER, title="", now=NOW, expected_etag=lead.etag)
    assert exc.value.reason == "LEAD_ALREADY_CONVERTED"
    assert (lead.version, [type(e) for e in lead.events]) == (2, [model.LeadCreated, model.LeadConverted])
