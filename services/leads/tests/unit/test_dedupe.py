from datetime import UTC, datetime, timedelta

import pytest

from leads.domain import dedupe, model

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def make(id="new", **kw):
    args = {"company": "Hangzhou Xihu Tea Co., Ltd.", "contact_name": "Wang Fang", "phone": "138 0013 8000",
            "email": "wang.fang@example.com", "region": "Zhejiang", "source": "", "owner_id": None, "now": NOW}
    args.update(kw)
    return model.new_lead(id=id, **args)


@pytest.mark.parametrize("raw", ["Hangzhou Xihu Tea Co., Ltd.", "HANGZHOU XIHU TEA", "hangzhou-xihu tea co ltd",
                                 "Ｈａｎｇｚｈｏｕ　Ｘｉｈｕ　Ｔｅａ", "Hangzhou Xihu Tea Limited",
                                 "Hangzhou Xihu Tea, Inc."])
def test_company_names_that_differ_in_width_case_punctuation_and_legal_suffix_share_a_key(raw):
    assert dedupe.company_key(raw) == "hangzhouxihutea"


@pytest.mark.parametrize("raw", ["杭州西湖茶叶有限公司", "杭州西湖茶叶股份有限公司", "杭州西湖茶叶 有限责任公司",
                                 "杭州 西湖茶叶（有限公司）", "杭州西湖茶叶公司"])
def test_chinese_legal_suffixes_are_stripped(raw):
    assert dedupe.company_key(raw) == "杭州西湖茶叶"


def test_suffixes_are_whole_words_and_never_leave_nothing():
    assert dedupe.company_key("Tesco") == "tesco"  # not "tes"
    assert dedupe.company_key("Zinc Inc.") == "zinc"
    assert dedupe.company_key("Limited") == "limited"
    assert dedupe.company_key("公司") == "公司"


def test_region_key_folds_width_case_and_spaces():
    assert dedupe.region_key(" Zhe Jiang ") == dedupe.region_key("ＺＨＥＪＩＡＮＧ") == "zhejiang"


def test_a_phone_match_beats_an_email_match_beats_a_company_match():
    by_company = make("c", phone="139 0000 0001", email="x@example.com", now=NOW - timedelta(days=3))
    by_email = make("e", phone="139 0000 0002", now=NOW - timedelta(days=2))
    by_phone = make("p", email="y@example.com", company="Other", now=NOW - timedelta(days=1))
    incoming = make()
    assert dedupe.find_duplicate(incoming, [by_company, by_email, by_phone]) == (by_phone, dedupe.PHONE)
    assert dedupe.find_duplicate(incoming, [by_company, by_email]) == (by_email, dedupe.EMAIL)
    assert dedupe.find_duplicate(incoming, [by_company]) == (by_company, dedupe.COMPANY)


def test_the_same_company_in_another_region_is_not_a_duplicate():
    other = make("o", phone="139 0000 0001", email="x@example.com", region="Jiangsu")
    assert dedupe.find_duplicate(make(), [other]) is None


def test_an_open_lead_is_preferred_to_a_converted_one_then_the_oldest():
    converted = make("a", now=NOW - timedelta(days=9))
    converted.convert("u", "", NOW)
    younger = make("b", now=NOW - timedelta(days=1))
    older = make("c", now=NOW - timedelta(days=2))
    assert dedupe.find_duplicate(make(), [converted, younger, older])[0] is older


def test_merge_fills_only_empty_fields_and_records_the_merge():
    existing = make("old", email="", industry="", source="fair", now=NOW - timedelta(days=1))
    existing.events.clear()
    incoming = make(email="New@Example.com", industry="tea", source="web", contact_name="Other Person")
    filled = dedupe.merge(existing, incoming, dedupe.PHONE, "u1", NOW)
    assert filled == ("email", "industry")
    assert (existing.email, existing.industry, existing.source, existing.contact_name) == (
        "new@example.com", "tea", "fair", "Wang Fang")
    assert existing.version == 2 and existing.update_time == NOW
    [event] = existing.events
    assert isinstance(event, dedupe.LeadMerged) and event.filled == filled and event.incoming is incoming


def test_a_merge_that_fills_nothing_keeps_the_version():
    existing = make("old")
    dedupe.merge(existing, make(), dedupe.PHONE, None, NOW)
    assert existing.version == 1


def test_flag_marks_the_new_lead_and_records_why():
    existing = make("old")
    incoming = make()
    dedupe.flag(incoming, existing, dedupe.EMAIL)
    assert incoming.duplicate_of == "old"
    assert incoming.events[-1] == dedupe.LeadFlaggedDuplicate(lead=incoming, duplicate_of="old", matched_on="email")
