"""The columns of the deals and tasks exports (README, "Exports"): a readable header and each cell, from the rows
the service layer hands over (``service_layer.exports``)."""

from __future__ import annotations

from opportunities.domain.model import Opportunity
from opportunities.domain.work import Task
from shangji_kit.export import Column
from shangji_kit.names import format_or_empty as name

OPPORTUNITY_COLUMNS: list[Column[Opportunity]] = [
    Column("Opportunity", lambda r: r.name),
    Column("Title", lambda r: r.title),
    Column("Company", lambda r: r.customer_company),
    Column("Customer", lambda r: name("customers", r.customer_id)),
    Column("Contact", lambda r: r.contact_name),
    Column("Phone", lambda r: r.contact_phone),
    Column("Email", lambda r: r.contact_email),
    Column("Region", lambda r: r.region),
    Column("Source", lambda r: r.source),
    Column("Owner", lambda r: name("users", r.owner_id)),
    Column("Registrant", lambda r: name("users", r.registrant_id)),
    Column("Pipeline", lambda r: name("pipelines", r.pipeline_id)),
    Column("Stage", lambda r: r.stage_key),
    Column("Stage name", lambda r: r.stage_display_name),
    Column("Stage category", lambda r: r.stage_category),
    Column("In stage since", lambda r: r.stage_enter_time),
    Column("Amount", lambda r: r.amount),
    Column("Currency", lambda r: r.currency),
    Column("Probability %", lambda r: r.effective_probability),
    Column("Expected close", lambda r: r.expected_close_date),
    Column("Product lines", lambda r: ", ".join(r.product_lines)),
    Column("Registration", lambda r: r.registration_state.upper()),
    Column("Collides with", lambda r: name("opportunities", r.collides_with)),
    Column("Won on", lambda r: r.win_date),
    Column("Lost reason", lambda r: r.lost_reason),
    Column("Lost to", lambda r: r.lost_competitor),
    Column("Lead", lambda r: name("leads", r.lead_id)),
    Column("Created", lambda r: r.create_time),
    Column("Updated", lambda r: r.update_time),
]

TASK_COLUMNS: list[Column[Task]] = [
    Column("Task", lambda r: r.name),
    Column("Opportunity", lambda r: name("opportunities", r.opportunity_id)),
    Column("Title", lambda r: r.title),
    Column("Due", lambda r: r.due_date),
    Column("Assignee", lambda r: name("users", r.assignee_id)),
    Column("Status", lambda r: r.status.upper()),
    Column("Stage", lambda r: r.stage_key),
    Column("Creator", lambda r: name("users", r.creator_id)),
    Column("Created", lambda r: r.create_time),
    Column("Completed", lambda r: r.complete_time),
    Column("Completed by", lambda r: name("users", r.completed_by)),
]
