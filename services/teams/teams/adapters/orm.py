"""The teams database schema (SQLAlchemy Core). Migrations in ``teams/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.request_ids import request_ids_table

metadata = sa.MetaData()


def _tags(name: str) -> sa.Column:
    return sa.Column(name, pg.ARRAY(sa.Text), nullable=False, server_default="{}")


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=False, server_default=""),
    sa.Column("department_id", pg.UUID(as_uuid=False), sa.ForeignKey("departments.id", name="users_department")),
    sa.Column("manager_id", pg.UUID(as_uuid=False), sa.ForeignKey("users.id", name="users_manager")),
    _tags("roles"),
    _tags("function_tags"),
    _tags("territories"),
    _tags("expertise"),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("capacity >= 0", name="users_capacity"),
    sa.Index("users_email", "email", unique=True),
    sa.Index("users_create_time", "create_time", "id"),
    sa.Index("users_department", "department_id"),
    sa.Index("users_manager", "manager_id"),
    sa.Index("users_roles", "roles", postgresql_using="gin"),
    sa.Index("users_territories", "territories", postgresql_using="gin"),
    sa.Index("users_expertise", "expertise", postgresql_using="gin"),
)

departments = sa.Table(
    "departments",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("parent_id", pg.UUID(as_uuid=False), sa.ForeignKey("departments.id", name="departments_parent")),
    sa.Column("head_id", pg.UUID(as_uuid=False), sa.ForeignKey("users.id", name="departments_head")),
    # "/<root id>/.../<id>/": a subtree is every path with this prefix.
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("departments_path", "path", unique=True, postgresql_ops={"path": "text_pattern_ops"}),
    sa.Index("departments_parent", "parent_id", "create_time", "id"),
    sa.Index("departments_create_time", "create_time", "id"),
    sa.Index("departments_head", "head_id"),
)

# Every placement of a user (in a department) and of a department (under a parent), with its period.
placements = sa.Table(
    "placements",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("subject_kind", sa.Text, nullable=False),
    sa.Column("subject_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("placed_under", pg.UUID(as_uuid=False)),
    sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_time", sa.DateTime(timezone=True)),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.CheckConstraint("subject_kind IN ('user', 'department')", name="placements_subject_kind"),
    sa.Index("placements_subject", "subject_kind", "subject_id", "start_time", "id"),
    # At most one current placement per subject.
    sa.Index("placements_current", "subject_kind", "subject_id", unique=True,
             postgresql_where=sa.text("end_time IS NULL")),
)

# Who owns each opportunity: fed by opportunities' OpportunityRegistered, moved by our OwnershipTransferred.
opportunity_owners = sa.Table(
    "opportunity_owners",
    metadata,
    sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("register_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("opportunity_owners_owner", "owner_id"),
)

team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("opportunity_id", pg.UUID(as_uuid=False),
              sa.ForeignKey("opportunity_owners.opportunity_id", name="team_members_opportunity"), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=False), sa.ForeignKey("users.id", name="team_members_user"),
              primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("can_edit", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("add_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("added_by", sa.Text, nullable=False),
    # The order members joined in (several join at the same add_time when a template is applied).
    sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Index("team_members_user", "user_id"),
)

team_templates = sa.Table(
    "team_templates",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("for_role", sa.Text, nullable=False, server_default=""),
    # [{"user_id": ..., "role": ..., "can_edit": ...}, ...]
    sa.Column("members", pg.JSONB, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("team_templates_owner", "owner_id", "create_time", "id"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
request_ids = request_ids_table(metadata)
