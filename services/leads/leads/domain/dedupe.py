"""De-duplication of leads: keys, matching, and what a duplicate does (merge or flag). Plain Python.

Keys: the normalised phone (E.164) and email (lower-cased) the lead already carries, and the company
name folded to a key within its region: NFKC, case-folded, punctuation and whitespace removed, and
common legal suffixes (有限公司, 股份有限公司, Co., Ltd., Inc. ...) stripped from the end.
A company setting (``dedupe_mode``) decides what an incoming duplicate does: ``merge`` fills the
existing lead's empty fields (its history stays) and records the merge; ``flag`` creates the new lead
with ``duplicate_of`` set, for someone to review.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from leads.domain.model import OPEN, Lead

MERGE = "merge"
FLAG = "flag"
MODES = (MERGE, FLAG)

# What matched, in the order keys are tried.
PHONE = "phone"
EMAIL = "email"
COMPANY = "company"

# Legal-form words dropped from the end of a company name (whole words, so "Tesco" stays), and
# Chinese suffixes (no word breaks) stripped from the end, longest first; never down to nothing.
_WORD_SUFFIXES = frozenset({"co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "company",
                            "llc", "plc", "gmbh"})
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司", "公司")
_WORDS = re.compile(r"[^\W_]+")
# Fields a merge may fill on the existing lead when they are empty there.
FILLABLE = ("phone", "email", "region", "source", "industry")


def _fold(raw: str) -> str:
    """NFKC, case-folded, only letters and digits kept (punctuation, symbols, whitespace dropped)."""
    return "".join(_WORDS.findall(unicodedata.normalize("NFKC", raw).casefold()))


def company_key(raw: str) -> str:
    words = _WORDS.findall(unicodedata.normalize("NFKC", raw).casefold())
    while len(words) > 1 and words[-1] in _WORD_SUFFIXES:
        words.pop()
    key = "".join(words)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _CJK_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                stripped = True
                break
    return key


def region_key(raw: str) -> str:
    return _fold(raw)


@dataclass(frozen=True)
class Keys:
    phone: str
    email: str
    company: str
    region: str

    @property
    def company_region(self) -> tuple[str, str] | None:
        return (self.company, self.region) if self.company else None


def keys_of(lead: Lead) -> Keys:
    """The lead's keys; phone and email are already normalised by ``model.new_lead``."""
    return Keys(phone=lead.phone, email=lead.email, company=company_key(lead.company), region=region_key(lead.region))


def matched_on(incoming: Keys, existing: Keys) -> str | None:
    """The first key the two share (phone, then email, then company within a region), or None."""
    if incoming.phone and incoming.phone == existing.phone:
        return PHONE
    if incoming.email and incoming.email == existing.email:
        return EMAIL
    if incoming.company_region and incoming.company_region == existing.company_region:
        return COMPANY
    return None


def find_duplicate(incoming: Lead, candidates: list[Lead], keys: Keys | None = None) -> tuple[Lead, str] | None:
    """The existing lead ``incoming`` duplicates and the key that matched, or None.

    Among several, a stronger key wins (phone over email over company), then an open lead over a
    converted one, then the oldest: the same answer whatever order the candidates came in.
    """
    keys = keys or keys_of(incoming)
    rank = {PHONE: 0, EMAIL: 1, COMPANY: 2}
    best = None
    for candidate in candidates:
        if candidate.id == incoming.id:
            continue
        on = matched_on(keys, keys_of(candidate))
        if on is None:
            continue
        order = (rank[on], candidate.state != OPEN, candidate.create_time, candidate.id)
        if best is None or order < best[0]:
            best = (order, candidate, on)
    return (best[1], best[2]) if best else None


@dataclass(frozen=True)
class LeadMerged:
    """``incoming`` (never stored as a lead) was merged into ``lead``, filling ``filled`` fields."""

    lead: Lead
    incoming: Lead
    matched_on: str
    filled: tuple[str, ...]
    merged_by: str | None
    merge_time: datetime


@dataclass(frozen=True)
class LeadFlaggedDuplicate:
    lead: Lead
    duplicate_of: str
    matched_on: str


def merge(existing: Lead, incoming: Lead, on: str, merged_by: str | None, now: datetime) -> tuple[str, ...]:
    """Fill the existing lead's empty fields from ``incoming``; the fields filled. The existing lead keeps
    its id, owner, state and follow-ups; a new version only when something changed."""
    filled = tuple(f for f in FILLABLE if not getattr(existing, f) and getattr(incoming, f))
    for f in filled:
        setattr(existing, f, getattr(incoming, f))
    if filled:
        existing.version += 1
        existing.update_time = now
    existing.events.append(LeadMerged(lead=existing, incoming=incoming, matched_on=on, filled=filled,
                                      merged_by=merged_by, merge_time=now))
    return filled


def flag(incoming: Lead, existing: Lead, on: str) -> None:
    """Create ``incoming`` marked as a possible duplicate of ``existing``, for review."""
    incoming.duplicate_of = existing.id
    incoming.events.append(LeadFlaggedDuplicate(lead=incoming, duplicate_of=existing.id, matched_on=on))
