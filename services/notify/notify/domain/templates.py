"""Wording a notice: a notice type's template in a locale, filled with the event's variables, as
title, plain text, markdown and HTML (one ``Message`` every channel can send).

The templates are data (``notify/templates/notices.json``), given to ``Catalogue``; derived wording
(a team role, a recycle rule, an arbitration decision, a lead's origin, a reason when one was given)
comes from the locale's vocabulary, so a new locale is a new block of data.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass

from notify.domain.channels import Message

LOCALES = ("zh-CN", "zh-TW", "en")
DEFAULT_LOCALE = "zh-CN"


class _Keep(dict):
    """A variable the event did not give stays visible as ``{name}`` instead of failing the notice."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Wording:
    title: str
    body: str


class Catalogue:
    def __init__(self, data: dict) -> None:
        self.data = data

    @property
    def notice_types(self) -> frozenset[str]:
        return frozenset(self.data[DEFAULT_LOCALE]["notices"])

    def variables(self, notice_type: str) -> list[str]:
        t = self.data[DEFAULT_LOCALE]["notices"][notice_type]
        found = [f for text in (t["title"], t["body"]) for _, f, _, _ in string.Formatter().parse(text) if f]
        return list(dict.fromkeys(found))

    def _derived(self, notice_type: str, facts: dict[str, object], vocab: dict) -> dict[str, object]:
        facts = dict(facts)
        if notice_type == "team_member_added":
            # A role teams adds later and the vocabulary does not know yet is shown as teams names it.
            role = str(facts.get("role", ""))
            facts["as_role"] = vocab["as_role"].format(role=vocab["roles"].get(role, role)) if role else ""
        rule = str(facts.get("rule", ""))
        facts.setdefault("rule_text", vocab["rules"].get(rule, rule))
        facts.setdefault("decision_text", vocab["decisions"].get(str(facts.get("decision", "")),
                                                                 vocab["decisions"]["REJECT"]))
        # A reason is optional (a reassignment's): without one the sentence simply ends.
        reason = str(facts.get("reason", "") or "")
        facts.setdefault("reason_text", vocab["reason"].format(reason=reason) if reason else "")
        origin = "import" if facts.get("imported") else "capture"
        facts.setdefault("origin_text", vocab["origins"][origin].format_map(_Keep(facts)))
        return facts

    def word(self, notice_type: str, facts: dict[str, object], locale: str = DEFAULT_LOCALE) -> Wording:
        block = self.data.get(locale) or self.data[DEFAULT_LOCALE]
        template = block["notices"][notice_type]
        filled = _Keep(self._derived(notice_type, facts, block["vocabulary"]))
        return Wording(template["title"].format_map(filled), template["body"].format_map(filled).strip())

    def render(self, notice_type: str, facts: dict[str, object], locale: str = DEFAULT_LOCALE, *,
               link: str = "", subject: str = "") -> Message:
        w = self.word(notice_type, facts, locale)
        return message(w.title, w.body, link=link, notice_type=notice_type, subject=subject,
                       open_text=self.open_text(locale))

    def open_text(self, locale: str) -> str:
        return (self.data.get(locale) or self.data[DEFAULT_LOCALE])["vocabulary"]["open"]

    def digest(self, items: list[Message], locale: str = DEFAULT_LOCALE) -> Message:
        """Several notices as one message: a heading, then each notice's title, body and link."""
        vocab = (self.data.get(locale) or self.data[DEFAULT_LOCALE])["vocabulary"]
        title = vocab["digest_title"].format(count=len(items))
        text = "\n\n".join(f"{m.title}\n{m.text}" for m in items)
        markdown = f"**{title}**\n\n" + "\n\n".join(m.markdown for m in items)
        body_html = "".join(f"<section>{m.html}</section>" for m in items)
        return Message(title=title, text=text, markdown=markdown,
                       html=f"<h2>{html.escape(title)}</h2>{body_html}", notice_type="digest")


def message(title: str, body: str, *, link: str = "", notice_type: str = "", subject: str = "",
            open_text: str = "Open") -> Message:
    text = f"{body}\n{link}" if link else body
    markdown = f"**{title}**\n\n{body}" + (f"\n\n[{open_text}]({link})" if link else "")
    page = f"<h3>{html.escape(title)}</h3><p>{html.escape(body)}</p>"
    if link:
        page += f'<p><a href="{html.escape(link, quote=True)}">{html.escape(open_text)}</a></p>'
    return Message(title=title, text=text, markdown=markdown, html=page, link=link, notice_type=notice_type,
                   subject=subject)


def link_to(base: str, subject: str) -> str:
    """The record's address for clients that open links: ``{base}/{subject}``; none without a base."""
    return f"{base.rstrip('/')}/{subject}" if base and subject else ""
