"""pipelines, stages, opportunities, outbox and inbox; the default pipeline

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.migrate import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A fixed id, so every environment names the default pipeline "pipelines/<this>".
SOFTWARE_PIPELINE_ID = "6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c01"

SOFTWARE_STAGES = [
    ("discover", "发现机会", "open", 5),
    ("validate", "验证机会", "open", 10),
    ("analyse", "需求分析", "open", 20),
    ("value", "价值说明", "open", 30),
    ("decision_maker", "确定决策者", "open", 40),
    ("perception", "认知分析", "open", 50),
    ("proposal", "建议报价", "open", 60),
    ("negotiation", "谈判审核", "open", 80),
    ("won", "中标", "won", 100),
    ("lost", "客户流失", "lost", 0),
]


def upgrade() -> None:
    pipelines = op.create_table(
        "pipelines",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("pipelines_one_default", "pipelines", ["is_default"], unique=True,
                    postgresql_where=sa.text("is_default"))
    stages = op.create_table(
        "stages",
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
    op.create_table(
        "opportunities",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("customer_company", sa.Text, nullable=False),
        sa.Column("contact_name", sa.Text, nullable=False, server_default=""),
        sa.Column("contact_phone", sa.Text, nullable=False, server_default=""),
        sa.Column("contact_email", sa.Text, nullable=False, server_default=""),
        sa.Column("region", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("registrant_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("pipeline_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("stage_key", sa.Text, nullable=False),
        sa.Column("lead_id", pg.UUID(as_uuid=False), unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pipeline_id", "stage_key"], ["stages.pipeline_id", "stages.key"],
                                name="opportunities_stage"),
    )
    op.create_index("opportunities_owner", "opportunities", ["owner_id", sa.text("create_time DESC"), "id"])
    create_messaging_tables(op.get_bind())

    op.bulk_insert(pipelines, [
        {"id": SOFTWARE_PIPELINE_ID, "key": "software", "display_name": "软件行业销售流程", "is_default": True},
    ])
    op.bulk_insert(stages, [
        {"pipeline_id": SOFTWARE_PIPELINE_ID, "position": position, "key": key, "display_name": display_name,
         "category": category, "probability": probability}
        for position, (key, display_name, category, probability) in enumerate(SOFTWARE_STAGES, start=1)
    ])


def downgrade() -> None:
    drop_messaging_tables(op.get_bind())
    op.drop_table("opportunities")
    op.drop_table("stages")
    op.drop_table("pipelines")
