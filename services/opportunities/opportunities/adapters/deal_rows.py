"""How a deal is read from and written to its rows: the columns, the read joined with its stage, the mapping both
ways and the visibility clause. Shared by the repositories that read deals (deals, alerts)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from opportunities.adapters.orm import opportunities, org, pipeline_stages, team_members
from opportunities.domain.model import Opportunity, QuoteLine
from shangji_kit import visibility

COLUMNS = ("id", "title", "customer_company", "contact_name", "contact_phone", "contact_email", "region", "source",
           "owner_id", "registrant_id", "pipeline_id", "stage_key", "lead_id", "version", "create_time",
           "update_time", "pipeline_version", "amount", "currency", "expected_close_date", "probability",
           "probability_note", "checklist", "product_lines", "stage_enter_time", "win_date", "lost_reason",
           "lost_competitor", "registration_state", "customer_key", "collides_with", "arbiter_id", "arbitration_time",
           "arbitration_note", "customer_id", "difficulty", "quote_lines", "erp_order_number")
_ARRAYS = ("checklist", "product_lines")
# What a change may write back (identity and registration stay). owner_id: an assignment from the queue; a
# handover (transfer_open) moves the version on, so a change read before it is refused.
CHANGEABLE = ("title", "stage_key", "pipeline_version", "amount", "currency", "expected_close_date", "probability",
              "probability_note", "checklist", "product_lines", "stage_enter_time", "win_date", "lost_reason",
              "lost_competitor", "version", "update_time", "registration_state", "collides_with", "arbiter_id",
              "arbitration_time", "arbitration_note", "owner_id", "customer_id", "difficulty", "quote_lines")

STAGE_OF_DEAL = sa.and_(pipeline_stages.c.pipeline_id == opportunities.c.pipeline_id,
                        pipeline_stages.c.version == opportunities.c.pipeline_version,
                        pipeline_stages.c.key == opportunities.c.stage_key)

# The stage's name, category and default probability travel with every opportunity read, so reads join them.
SELECT = sa.select(opportunities, pipeline_stages.c.display_name.label("stage_display_name"),
                   pipeline_stages.c.category.label("stage_category"),
                   pipeline_stages.c.probability.label("stage_probability")).join(pipeline_stages, STAGE_OF_DEAL)
# The hot reads (a deal by id, page 1 of the list) take the stage from the process's cache of pipeline versions
# instead (``DealRepository``): a version never changes, and the join was a quarter of a Get's PostgreSQL CPU
# (planning it: 0.46 -> 0.34 ms, running it 0.05 -> 0.03). The foreign key opportunities_pipeline_stage keeps every
# deal's stage in its version, so the join never dropped a row.
SELECT_DEAL = sa.select(opportunities)


# Every statement read through ``to_opportunity`` selects SELECT's columns first (a page may add its sort keys
# after them; SELECT_DEAL's are the same, without the stage's), so a deal's values are read by position: a Row's
# attribute access costs ~0.8 us a column, by index ~0.05 (page 1 of a list, 50 deals x 41 columns: 1.6 ms -> 0.1 ms
# of the front's CPU).
_SELECTED = [c.key for c in SELECT.selected_columns]
_AT = tuple((c, _SELECTED.index(c)) for c in COLUMNS if c not in (*_ARRAYS, "quote_lines"))
_ARRAYS_AT = tuple((c, _SELECTED.index(c)) for c in _ARRAYS)
_QUOTE_LINES_AT = _SELECTED.index("quote_lines")
if [c.key for c in SELECT_DEAL.selected_columns] != _SELECTED[:len(SELECT_DEAL.selected_columns)]:
    raise RuntimeError("SELECT_DEAL must select SELECT's columns in SELECT's order")
_STAGE_AT = tuple(_SELECTED.index(c) for c in ("stage_display_name", "stage_category", "stage_probability"))


def to_opportunity(row, stage: tuple[str, str, int] | None = None) -> Opportunity:
    """A deal from a row of ``SELECT`` (or of a statement that starts with its columns), or from a row of
    ``SELECT_DEAL`` and its ``stage`` (display name, category, probability)."""
    values = {c: row[i] for c, i in _AT}
    for c, i in _ARRAYS_AT:
        values[c] = tuple(row[i] or ())
    values["quote_lines"] = tuple(
        QuoteLine(product=q["product"], quantity=Decimal(q["quantity"]), unit_price=Decimal(q["unit_price"]),
                  description=q.get("description", "")) for q in row[_QUOTE_LINES_AT] or ())
    if stage is None:
        name, category, probability = _STAGE_AT
        stage = (row[name], row[category], row[probability])
    return Opportunity(stage_display_name=stage[0], stage_category=stage[1], stage_probability=stage[2], **values)


def values_of(opportunity: Opportunity, columns: tuple[str, ...]) -> dict:
    values = {c: getattr(opportunity, c) for c in columns}
    for c in _ARRAYS:
        if c in values:
            values[c] = list(values[c])
    if "quote_lines" in values:  # decimals as strings, so JSON keeps them exact
        values["quote_lines"] = [{"product": q.product, "quantity": str(q.quantity), "unit_price": str(q.unit_price),
                                  "description": q.description} for q in values["quote_lines"]]
    return values


_MEMBER = team_members.c.user_id
# The deals a viewer may see (ARCHITECTURE.md section 6), by the kit's rules, built once per viewer shape. The
# assignment queue (no owner) is open to sales ops (who see everything) and to every active manager.
RULE = visibility.VisibleRule(
    org, opportunities.c.owner_id,
    team_ids=sa.select(team_members.c.opportunity_id).where(_MEMBER == visibility.viewer_param(_MEMBER.type)),
    id_col=opportunities.c.id, head_extra=[opportunities.c.owner_id.is_(None)])


def visible(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """The rule with ``viewer``'s values bound, for statements built per call (hot paths use ``RULE``)."""
    return RULE.bound(viewer)
