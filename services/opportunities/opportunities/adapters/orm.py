"""The opportunities database schema (SQLAlchemy Core). Migrations in ``opportunities/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit import visibility
from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.request_ids import request_ids_table

metadata = sa.MetaData()

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    # The latest version; deals keep the version they were registered (or last migrated) in.
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # At most one default pipeline: registration must never have to choose between two.
    sa.Index("pipelines_one_default", "is_default", unique=True, postgresql_where=sa.text("is_default")),
)

# One row per pipeline version: its whole definition (pipeline.pipeline_to_dict), as loaded.
pipeline_versions = sa.Table(
    "pipeline_versions",
    metadata,
    sa.Column("pipeline_id", pg.UUID(as_uuid=False), sa.ForeignKey("pipelines.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", pg.JSONB, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# The stages of each version as rows, so reads join a deal's stage (name, category) and the database checks
# that a deal's stage exists in its version.
pipeline_stages = sa.Table(
    "pipeline_stages",
    metadata,
    sa.Column("pipeline_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(["pipeline_id", "version"], ["pipeline_versions.pipeline_id", "pipeline_versions.version"],
                            name="pipeline_stages_version"),
    sa.CheckConstraint("category IN ('open', 'won', 'lost')", name="pipeline_stages_category"),
)

# Unversioned stages of revision 0001; read by nothing since 0003 (pipeline_stages), kept for downgrades.
stages = sa.Table(
    "stages",
    metadata,
    sa.Column("pipeline_id", pg.UUID(as_uuid=False), sa.ForeignKey("pipelines.id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.UniqueConstraint("pipeline_id", "position", name="stages_pipeline_position"),
    sa.CheckConstraint("category IN ('open', 'won', 'lost')", name="stages_category"),
    sa.CheckConstraint("probability BETWEEN 0 AND 100", name="stages_probability"),
)

opportunities = sa.Table(
    "opportunities",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("customer_company", sa.Text, nullable=False),
    sa.Column("contact_name", sa.Text, nullable=False, server_default=""),
    sa.Column("contact_phone", sa.Text, nullable=False, server_default=""),
    sa.Column("contact_email", sa.Text, nullable=False, server_default=""),
    sa.Column("region", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    # NULL while the deal waits in the assignment queue (registration_state 'unassigned', migration 0005).
    sa.Column("owner_id", pg.UUID(as_uuid=False)),
    sa.Column("registrant_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("pipeline_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("stage_key", sa.Text, nullable=False),
    # A converted lead yields at most one deal; the constraint settles concurrent deliveries.
    sa.Column("lead_id", pg.UUID(as_uuid=False), unique=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("pipeline_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("amount", sa.Numeric(18, 2)),
    sa.Column("currency", sa.Text, nullable=False, server_default=""),
    sa.Column("expected_close_date", sa.Date),
    # NULL: the stage's default probability.
    sa.Column("probability", sa.Integer),
    sa.Column("probability_note", sa.Text, nullable=False, server_default=""),
    sa.Column("checklist", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("product_lines", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("stage_enter_time", sa.DateTime(timezone=True)),
    sa.Column("win_date", sa.Date),
    sa.Column("lost_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("lost_competitor", sa.Text, nullable=False, server_default=""),
    # Registration (0004): active, pending_arbitration or rejected; customer_key is registration.customer_key.
    sa.Column("registration_state", sa.Text, nullable=False, server_default="active"),
    sa.Column("customer_key", sa.Text, nullable=False, server_default=""),
    sa.Column("collides_with", pg.UUID(as_uuid=False)),
    sa.Column("arbiter_id", pg.UUID(as_uuid=False)),
    sa.Column("arbitration_time", sa.DateTime(timezone=True)),
    sa.Column("arbitration_note", sa.Text, nullable=False, server_default=""),
    # 0007: the leads customer ("customers/{id}"), the difficulty coefficient, the quoted lines (JSON list of
    # {product, quantity, unit_price, description}, decimals as strings).
    sa.Column("customer_id", pg.UUID(as_uuid=False)),
    sa.Column("difficulty", sa.Numeric(8, 3), nullable=False, server_default="1"),
    sa.Column("quote_lines", pg.JSONB, nullable=False, server_default="[]"),
    # 0016: the ERP's sales order for the won deal (erp_bridge's ErpOrderConfirmed) and when the ERP confirmed it.
    sa.Column("erp_order_number", sa.Text, nullable=False, server_default=""),
    sa.Column("erp_order_time", sa.DateTime(timezone=True)),
    sa.CheckConstraint("difficulty > 0", name="opportunities_difficulty"),
    sa.ForeignKeyConstraint(["pipeline_id", "pipeline_version", "stage_key"],
                            ["pipeline_stages.pipeline_id", "pipeline_stages.version", "pipeline_stages.key"],
                            name="opportunities_pipeline_stage"),
    sa.CheckConstraint("amount >= 0", name="opportunities_amount"),
    sa.CheckConstraint("probability BETWEEN 0 AND 100", name="opportunities_probability"),
    sa.CheckConstraint("registration_state IN ('active', 'pending_arbitration', 'rejected', 'unassigned')",
                       name="opportunities_registration_state"),
    sa.CheckConstraint("(owner_id IS NULL) = (registration_state = 'unassigned')", name="opportunities_owner"),
    sa.Index("opportunities_unassigned", sa.text("create_time DESC"), "id",
             postgresql_where=sa.text("owner_id IS NULL")),
    sa.Index("opportunities_customer_key", "customer_key"),
    sa.Index("opportunities_owner", "owner_id", sa.text("create_time DESC"), "id"),
    # Lists of callers who see more than their own deals (managers, sales ops) walk this index newest first.
    sa.Index("opportunities_recent", sa.text("create_time DESC"), "id"),
)

# The company's registration settings: one row (id = true), seeded by migration 0004.
registration_settings = sa.Table(
    "registration_settings",
    metadata,
    sa.Column("id", sa.Boolean, primary_key=True, server_default=sa.true()),
    sa.Column("protection_days", sa.Integer, nullable=False, server_default="90"),
    sa.Column("collision_mode", sa.Text, nullable=False, server_default="refuse"),
    sa.CheckConstraint("id", name="registration_settings_one_row"),
    sa.CheckConstraint("protection_days >= 0", name="registration_settings_protection_days"),
    sa.CheckConstraint("collision_mode IN ('refuse', 'queue')", name="registration_settings_collision_mode"),
    # 0006: amount above which a deal is a big deal (alert to the owner's managers); NULL: no big-deal alerts.
    sa.Column("big_deal_threshold", sa.Numeric(18, 2)),
    sa.CheckConstraint("big_deal_threshold IS NULL OR big_deal_threshold >= 0",
                       name="registration_settings_big_deal_threshold"),
    # 0015: the etag, and who changed the settings last and when (UpdateRegistrationSettings).
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_by", pg.UUID(as_uuid=False)),
)

# Alerts already raised (0006): one per (deal, kind, condition key), so each is sent once.
alerts_sent = sa.Table(
    "alerts_sent",
    metadata,
    sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("condition_key", sa.Text, primary_key=True),
    sa.Column("send_time", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('close_date_approaching', 'close_date_passed', 'stalled', 'big_deal')",
                       name="alerts_sent_kind"),
)

# Routing rules (0005), tried in position order: any of region, product line, amount band [min, max) -> owner.
routing_rules = sa.Table(
    "routing_rules",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("region", sa.Text, nullable=False, server_default=""),
    sa.Column("product_line", sa.Text, nullable=False, server_default=""),
    sa.Column("amount_min", sa.Numeric(18, 2)),
    sa.Column("amount_max", sa.Numeric(18, 2)),
    sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.CheckConstraint("region <> '' OR product_line <> '' OR amount_min IS NOT NULL OR amount_max IS NOT NULL",
                       name="routing_rules_condition"),
    sa.CheckConstraint("amount_min IS NULL OR amount_max IS NULL OR amount_min < amount_max",
                       name="routing_rules_band"),
)

# Teams' organisation as far as visibility needs it (org_users, org_departments), fed by teams' events.
org = visibility.org_tables(metadata)
# A head's list gathers the users of the departments below them: an index-only scan with this (migration 0018).
sa.Index("org_users_department_members", org.users.c.department_id, postgresql_include=["user_id"])

# Opportunity teams, fed by OpportunityTeamMember{Added,Removed}. No foreign key to opportunities: teams'
# events and ours travel separately, and a member row for a deal not (yet) here harms nobody.
team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("can_edit", sa.Boolean, nullable=False),
    sa.Column("add_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("team_members_user", "user_id"),
)

# Who owned a deal before whom: one row per deal moved by a handover (OwnershipTransferred).
owner_changes = sa.Table(
    "owner_changes",
    metadata,
    sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("transfer_id", sa.Text, primary_key=True),
    sa.Column("from_owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("to_owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
)

# Every stay of a deal in a stage: entered when, by whom, why; exit_time is NULL while it is still there.
stage_history = sa.Table(
    "stage_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("opportunity_id", pg.UUID(as_uuid=False), sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("stage_key", sa.Text, nullable=False),
    sa.Column("enter_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("exit_time", sa.DateTime(timezone=True)),
    sa.Column("actor_id", pg.UUID(as_uuid=False)),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    # Kept by triggers for the funnel (migration 0017): the deal's owner and pipeline, whether it counts (an
    # active registration), whether this stage is in the deal's pipeline version, and whether the deal went on
    # from it to a later stage that is not lost.
    sa.Column("owner_id", pg.UUID(as_uuid=False)),
    sa.Column("pipeline_id", pg.UUID(as_uuid=False)),
    sa.Column("counted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("known_stage", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("advanced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("stage_history_opportunity", "opportunity_id", "id"),
)

# --- a deal's collections (0007) -----------------------------------------------------------------------

_UUID = pg.UUID(as_uuid=False)
_TIME = sa.DateTime(timezone=True)

# The decision chain per deal: copied at registration, then kept here.
deal_contacts = sa.Table(
    "deal_contacts",
    metadata,
    sa.Column("id", _UUID, primary_key=True),
    # Listing order: as added (a copied chain keeps the customer's order).
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("contact_id", _UUID),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("phone", sa.Text, nullable=False, server_default=""),
    sa.Column("email", sa.Text, nullable=False, server_default=""),
    sa.Column("buying_role", sa.Text, nullable=False, server_default=""),
    sa.Column("attitude", sa.Text, nullable=False, server_default=""),
    sa.Column("satisfaction", sa.Integer, nullable=False, server_default="0"),
    sa.Column("create_time", _TIME, nullable=False),
    sa.Column("update_time", _TIME, nullable=False),
    sa.CheckConstraint("satisfaction BETWEEN 0 AND 5", name="deal_contacts_satisfaction"),
    sa.Index("deal_contacts_opportunity", "opportunity_id", "seq"),
)

# Each customer's latest account-level decision chain (leads' CustomerDecisionChainChanged, highest revision).
customer_chains = sa.Table(
    "customer_chains",
    metadata,
    sa.Column("customer_id", _UUID, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("contacts", pg.JSONB, nullable=False),
    sa.Column("change_time", _TIME),
)

# Who owns each leads customer (from leads' CustomerCreated / CustomerUpdated): whether a caller may name a customer
# on a deal (and have its chain copied) follows the kit's visibility rule over this owner.
customer_owners = sa.Table(
    "customer_owners",
    metadata,
    sa.Column("customer_id", _UUID, primary_key=True),
    sa.Column("owner_id", _UUID, nullable=False),
    sa.Column("update_time", _TIME, nullable=False),
)

requirements = sa.Table(
    "requirements",
    metadata,
    sa.Column("id", _UUID, primary_key=True),
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("priority", sa.Text, nullable=False, server_default="medium"),
    sa.Column("answer", sa.Text, nullable=False, server_default=""),
    sa.Column("create_time", _TIME, nullable=False),
    sa.Column("update_time", _TIME, nullable=False),
    sa.CheckConstraint("priority IN ('high', 'medium', 'low')", name="requirements_priority"),
    sa.Index("requirements_opportunity", "opportunity_id", "create_time"),
)

# Named solution documents; a new version is a new row, earlier ones stay.
document_versions = sa.Table(
    "document_versions",
    metadata,
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), primary_key=True),
    sa.Column("document", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("author_id", _UUID, nullable=False),
    sa.Column("create_time", _TIME, nullable=False),
)

# Sample requests approved / delivered per deal (samples' events). Keyed by request and kind, so a request
# counts once whatever the number of deliveries of its event. No foreign key: the event names the deal.
samples_seen = sa.Table(
    "samples_seen",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("opportunity_id", _UUID, nullable=False),
    sa.Column("event_time", _TIME, nullable=False),
    sa.CheckConstraint("kind IN ('approved', 'delivered')", name="samples_seen_kind"),
    sa.Index("samples_seen_opportunity", "opportunity_id"),
)

activities = sa.Table(
    "activities",
    metadata,
    sa.Column("id", _UUID, primary_key=True),
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("occur_time", _TIME, nullable=False),
    sa.Column("author_id", _UUID, nullable=False),
    sa.Column("create_time", _TIME, nullable=False),
    sa.CheckConstraint("kind IN ('call', 'visit', 'email', 'meeting')", name="activities_kind"),
    sa.Index("activities_opportunity", "opportunity_id", sa.text("occur_time DESC")),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", _UUID, primary_key=True),
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("assignee_id", _UUID, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    # NULL for a task made on stage entry.
    sa.Column("creator_id", _UUID),
    sa.Column("stage_key", sa.Text, nullable=False, server_default=""),
    sa.Column("create_time", _TIME, nullable=False),
    sa.Column("complete_time", _TIME),
    sa.Column("completed_by", _UUID),
    sa.CheckConstraint("status IN ('open', 'done')", name="tasks_status"),
    sa.Index("tasks_opportunity", "opportunity_id", "create_time"),
    sa.Index("tasks_open_assignee", "assignee_id", "due_date", postgresql_where=sa.text("status = 'open'")),
)

# Who completed which checklist item of a deal, and when.
checklist_completions = sa.Table(
    "checklist_completions",
    metadata,
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), primary_key=True),
    sa.Column("item", sa.Text, primary_key=True),
    sa.Column("user_id", _UUID, nullable=False),
    sa.Column("complete_time", _TIME, nullable=False),
)

# Each deal's audit trail (0014): one row per change to its fields, the changed fields' old and new text
# ([{field, old_value, new_value}]); read newest first by the deal's (change_time, id).
opportunity_changes = sa.Table(
    "opportunity_changes",
    metadata,
    sa.Column("id", _UUID, primary_key=True),
    sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), nullable=False),
    # NULL: the system (a handover from teams' event, a pipeline migration).
    sa.Column("actor_id", _UUID),
    sa.Column("change_time", _TIME, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("changes", pg.JSONB, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Index("opportunity_changes_deal", "opportunity_id", sa.text("change_time DESC"), "id"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# Request ids per caller (RegisterOpportunity), the kit's command idempotency (0009).
idempotency_keys = request_ids_table(metadata)
