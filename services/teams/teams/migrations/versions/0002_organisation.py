"""the organisation: departments (a tree with materialised paths), user roles and placement, placement
history, opportunity owners, opportunity teams and team templates

The free-text ``users.department`` becomes ``users.department_id``: each distinct non-empty text
becomes a root department of that name, and its users are placed in it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _uuid(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, pg.UUID(as_uuid=False), *args, **kw)


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "departments",
        _uuid("id", primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        _uuid("parent_id", sa.ForeignKey("departments.id", name="departments_parent")),
        _uuid("head_id", sa.ForeignKey("users.id", name="departments_head")),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        _time("create_time"),
        _time("update_time"),
    )
    op.create_index("departments_path", "departments", ["path"], unique=True,
                    postgresql_ops={"path": "text_pattern_ops"})
    op.create_index("departments_parent", "departments", ["parent_id", "create_time", "id"])
    op.create_index("departments_create_time", "departments", ["create_time", "id"])
    op.create_index("departments_head", "departments", ["head_id"])

    op.add_column("users", _uuid("department_id", sa.ForeignKey("departments.id", name="users_department")))
    op.add_column("users", _uuid("manager_id", sa.ForeignKey("users.id", name="users_manager")))
    for column in ("roles", "function_tags", "territories", "expertise"):
        op.add_column("users", sa.Column(column, pg.ARRAY(sa.Text), nullable=False, server_default="{}"))
    op.add_column("users", sa.Column("capacity", sa.Integer, nullable=False, server_default="0"))
    op.create_check_constraint("users_capacity", "users", "capacity >= 0")
    op.create_index("users_create_time", "users", ["create_time", "id"])
    op.create_index("users_department", "users", ["department_id"])
    op.create_index("users_manager", "users", ["manager_id"])
    for column in ("roles", "territories", "expertise"):
        op.create_index(f"users_{column}", "users", [column], postgresql_using="gin")

    op.create_table(
        "placements",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("subject_kind", sa.Text, nullable=False),
        _uuid("subject_id", nullable=False),
        _uuid("placed_under"),
        _time("start_time"),
        _time("end_time", nullable=True),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.CheckConstraint("subject_kind IN ('user', 'department')", name="placements_subject_kind"),
    )
    op.create_index("placements_subject", "placements", ["subject_kind", "subject_id", "start_time", "id"])
    op.create_index("placements_current", "placements", ["subject_kind", "subject_id"], unique=True,
                    postgresql_where=sa.text("end_time IS NULL"))

    # The free-text departments become root departments; every user gets a first placement.
    op.execute("""
        CREATE TEMP TABLE department_names ON COMMIT DROP AS
            SELECT gen_random_uuid() AS id, department AS display_name, min(create_time) AS create_time
            FROM users WHERE btrim(department) <> '' GROUP BY department;
        INSERT INTO departments (id, display_name, path, version, create_time, update_time)
            SELECT id, display_name, '/' || id || '/', 1, create_time, now() FROM department_names;
        UPDATE users SET department_id = n.id FROM department_names n WHERE users.department = n.display_name;
        INSERT INTO placements (subject_kind, subject_id, placed_under, start_time, changed_by)
            SELECT 'department', id, NULL, create_time, '' FROM department_names;
        INSERT INTO placements (subject_kind, subject_id, placed_under, start_time, changed_by)
            SELECT 'user', id, department_id, create_time, '' FROM users;
    """)
    op.drop_column("users", "department")

    op.create_table(
        "opportunity_owners",
        _uuid("opportunity_id", primary_key=True),
        _uuid("owner_id", nullable=False),
        _time("register_time"),
    )
    op.create_index("opportunity_owners_owner", "opportunity_owners", ["owner_id"])
    op.create_table(
        "team_members",
        _uuid("opportunity_id", sa.ForeignKey("opportunity_owners.opportunity_id", name="team_members_opportunity"),
              primary_key=True),
        _uuid("user_id", sa.ForeignKey("users.id", name="team_members_user"), primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("can_edit", sa.Boolean, nullable=False, server_default=sa.false()),
        _time("add_time"),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False),
    )
    op.create_index("team_members_user", "team_members", ["user_id"])
    op.create_table(
        "team_templates",
        _uuid("id", primary_key=True),
        _uuid("owner_id", nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("for_role", sa.Text, nullable=False, server_default=""),
        sa.Column("members", pg.JSONB, nullable=False),
        _time("create_time"),
        _time("update_time"),
    )
    op.create_index("team_templates_owner", "team_templates", ["owner_id", "create_time", "id"])


def downgrade() -> None:
    op.drop_table("team_templates")
    op.drop_table("team_members")
    op.drop_table("opportunity_owners")
    op.add_column("users", sa.Column("department", sa.Text, nullable=False, server_default=""))
    op.execute("UPDATE users SET department = d.display_name FROM departments d WHERE users.department_id = d.id")
    op.drop_table("placements")
    for column in ("roles", "territories", "expertise"):
        op.drop_index(f"users_{column}", "users")
    op.drop_index("users_manager", "users")
    op.drop_index("users_department", "users")
    op.drop_index("users_create_time", "users")
    op.drop_constraint("users_capacity", "users")
    for column in ("capacity", "expertise", "territories", "function_tags", "roles", "manager_id", "department_id"):
        op.drop_column("users", column)
    op.drop_table("departments")
