"""Templates as data: every locale words every notice type with the same variables; messages carry the link."""

from __future__ import annotations

import string

import pytest

from notify import templates
from notify.domain.templates import LOCALES, Catalogue, link_to

CATALOGUE = Catalogue(templates.load())


def variables(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("locale", LOCALES)
def test_each_locale_has_every_notice_type_with_the_same_variables(locale):
    reference = CATALOGUE.data["zh-CN"]["notices"]
    block = CATALOGUE.data[locale]["notices"]
    assert set(block) == set(reference)
    for kind, t in block.items():
        assert variables(t["title"]) | variables(t["body"]) == \
            variables(reference[kind]["title"]) | variables(reference[kind]["body"]), (locale, kind)


@pytest.mark.parametrize("locale", LOCALES)
def test_derived_wording_comes_from_the_locales_vocabulary(locale):
    w = CATALOGUE.word("team_member_added", {"role": "presales", "added_by": "users/u2"}, locale)
    expected = {"zh-CN": "担任售前", "zh-TW": "擔任售前", "en": "as presales"}[locale]
    assert expected in w.body


def test_a_message_links_to_its_subject_in_every_form():
    link = link_to("https://crm.example.com/", "opportunities/o1")
    assert link == "https://crm.example.com/opportunities/o1"
    m = CATALOGUE.render("big_deal", {"title": "智慧园区"}, "zh-CN", link=link, subject="opportunities/o1")
    assert m.text.endswith("\nhttps://crm.example.com/opportunities/o1")
    assert m.markdown.endswith("[查看](https://crm.example.com/opportunities/o1)")
    assert '<a href="https://crm.example.com/opportunities/o1">查看</a>' in m.html
    assert link_to("", "opportunities/o1") == ""


def test_html_escapes_what_the_event_says():
    m = CATALOGUE.render("sample_rejected", {"approver": "users/a", "customer_company": "<b>X</b>",
                                             "comment": "a & b"})
    assert "&lt;b&gt;X&lt;/b&gt;" in m.html and "a &amp; b" in m.html and "<b>X</b>" in m.text
