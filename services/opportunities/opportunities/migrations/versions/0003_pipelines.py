"""pipelines: versions with their definitions, versioned stages, deal fields, stage history; demo pipelines

Revision ID: 0003
Revises: 0002

Additive: the old ``stages`` table stays (read by nothing since this revision); deals point at
(pipeline, version, stage) in ``pipeline_stages`` instead, so a deal in flight keeps its pipeline version.
The definitions below are frozen copies of services/opportunities/pipelines/*.yaml as first seeded.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SOFTWARE_PIPELINE_ID = "6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c01"
MANUFACTURING_PIPELINE_ID = "6f1c3a52-2d7e-4b8e-9a0c-5f3e1d2b7c02"


def _stage(key, name, probability, max_days, role, item, description, criteria):
    return {"key": key, "display_name": name, "category": "open", "probability": probability, "max_days": max_days,
            "checklist": {role: [{"key": item, "description": description}]}, "exit_criteria": criteria}


SOFTWARE = {
    "key": "software", "display_name": "软件行业销售流程", "allows_skipping": False,
    "lost_reasons": ["价格", "竞争对手", "需求取消", "预算不足", "未找到决策者"],
    "stages": [
        _stage("discover", "发现机会", 5, 14, "sales_rep", "need_confirmed", "确认客户有明确需求",
               [{"required_fields": ["expected_close_date", "customer_company", "contact_name"]},
                {"checklist_completed": ["need_confirmed"]}]),
        _stage("validate", "验证机会", 10, 14, "sales_rep", "budget_confirmed", "确认预算与时间表",
               [{"checklist_completed": ["budget_confirmed"]}, {"required_fields": ["product_lines"]}]),
        _stage("analyse", "需求分析", 20, 21, "presales", "requirements_documented", "整理需求清单",
               [{"checklist_completed": ["requirements_documented"]}, {"required_fields": ["amount", "currency"]}]),
        _stage("value", "价值说明", 30, 21, "presales", "solution_presented", "完成方案演示",
               [{"checklist_completed": ["solution_presented"]}]),
        _stage("decision_maker", "确定决策者", 40, 21, "sales_rep", "decision_maker_met", "拜访决策者",
               [{"checklist_completed": ["decision_maker_met"]}]),
        _stage("perception", "认知分析", 50, 21, "sales_rep", "competition_analysed", "完成竞争分析",
               [{"checklist_completed": ["competition_analysed"]}]),
        _stage("proposal", "建议报价", 60, 30, "sales_rep", "quote_sent", "报价单已发送",
               [{"amount_positive": True}, {"checklist_completed": ["quote_sent"]}]),
        _stage("negotiation", "谈判审核", 80, 30, "sales_manager", "contract_reviewed", "合同评审通过",
               [{"any_of": [{"checklist_completed": ["contract_reviewed"]}, {"document_present": "合同"}]}]),
        {"key": "won", "display_name": "中标", "category": "won", "probability": 100},
        {"key": "lost", "display_name": "客户流失", "category": "lost", "probability": 0},
    ],
}

MANUFACTURING = {
    "key": "manufacturing", "display_name": "制造业项目流程", "allows_skipping": False,
    "lost_reasons": ["价格", "质量", "交期", "客户项目取消"],
    "stages": [
        _stage("assessment", "商机评估", 20, 30, "sales_rep", "customer_visited", "拜访客户并评估项目",
               [{"required_fields": ["expected_close_date", "product_lines"]},
                {"checklist_completed": ["customer_visited"]}]),
        _stage("project_validation", "客户项目验证", 50, 90, "engineer", "trial_passed", "试产验证通过",
               [{"any_of": [{"sample_approved": True}, {"checklist_completed": ["trial_passed"]}]},
                {"amount_positive": True}]),
        {"key": "project_import", "display_name": "项目导入", "category": "won", "probability": 100},
        {"key": "project_dropped", "display_name": "项目终止", "category": "lost", "probability": 0},
    ],
}


def upgrade() -> None:
    op.add_column("pipelines", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    versions = op.create_table(
        "pipeline_versions",
        sa.Column("pipeline_id", pg.UUID(as_uuid=False), sa.ForeignKey("pipelines.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", pg.JSONB, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    stages = op.create_table(
        "pipeline_stages",
        sa.Column("pipeline_id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("probability", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["pipeline_id", "version"],
                                ["pipeline_versions.pipeline_id", "pipeline_versions.version"],
                                name="pipeline_stages_version"),
        sa.CheckConstraint("category IN ('open', 'won', 'lost')", name="pipeline_stages_category"),
    )
    op.bulk_insert(sa.table("pipelines", sa.column("id"), sa.column("key"), sa.column("display_name"),
                            sa.column("is_default")),
                   [{"id": MANUFACTURING_PIPELINE_ID, "key": MANUFACTURING["key"],
                     "display_name": MANUFACTURING["display_name"], "is_default": False}])
    for pipeline_id, definition in ((SOFTWARE_PIPELINE_ID, SOFTWARE), (MANUFACTURING_PIPELINE_ID, MANUFACTURING)):
        op.bulk_insert(versions, [{"pipeline_id": pipeline_id, "version": 1, "definition": definition}])
        op.bulk_insert(stages, [
            {"pipeline_id": pipeline_id, "version": 1, "key": s["key"], "position": i,
             "display_name": s["display_name"], "category": s["category"], "probability": s["probability"]}
            for i, s in enumerate(definition["stages"], start=1)])

    for column in (
        sa.Column("pipeline_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("currency", sa.Text, nullable=False, server_default=""),
        sa.Column("expected_close_date", sa.Date),
        sa.Column("probability", sa.Integer),
        sa.Column("probability_note", sa.Text, nullable=False, server_default=""),
        sa.Column("checklist", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("product_lines", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("stage_enter_time", sa.DateTime(timezone=True)),
        sa.Column("win_date", sa.Date),
        sa.Column("lost_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("lost_competitor", sa.Text, nullable=False, server_default=""),
    ):
        op.add_column("opportunities", column)
    op.create_check_constraint("opportunities_amount", "opportunities", "amount >= 0")
    op.create_check_constraint("opportunities_probability", "opportunities", "probability BETWEEN 0 AND 100")
    op.execute("UPDATE opportunities SET stage_enter_time = create_time")
    op.drop_constraint("opportunities_stage", "opportunities", type_="foreignkey")
    op.create_foreign_key("opportunities_pipeline_stage", "opportunities", "pipeline_stages",
                          ["pipeline_id", "pipeline_version", "stage_key"], ["pipeline_id", "version", "key"])

    op.create_table(
        "stage_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("opportunity_id", pg.UUID(as_uuid=False), sa.ForeignKey("opportunities.id"), nullable=False),
        sa.Column("stage_key", sa.Text, nullable=False),
        sa.Column("enter_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exit_time", sa.DateTime(timezone=True)),
        sa.Column("actor_id", pg.UUID(as_uuid=False)),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("stage_history_opportunity", "stage_history", ["opportunity_id", "id"])
    op.execute("INSERT INTO stage_history (opportunity_id, stage_key, enter_time, actor_id) "
               "SELECT id, stage_key, create_time, registrant_id FROM opportunities")


def downgrade() -> None:
    op.drop_table("stage_history")
    op.drop_constraint("opportunities_pipeline_stage", "opportunities", type_="foreignkey")
    op.create_foreign_key("opportunities_stage", "opportunities", "stages", ["pipeline_id", "stage_key"],
                          ["pipeline_id", "key"])
    op.drop_constraint("opportunities_probability", "opportunities", type_="check")
    op.drop_constraint("opportunities_amount", "opportunities", type_="check")
    for column in ("lost_competitor", "lost_reason", "win_date", "stage_enter_time", "product_lines", "checklist",
                   "probability_note", "probability", "expected_close_date", "currency", "amount", "pipeline_version"):
        op.drop_column("opportunities", column)
    op.drop_table("pipeline_stages")
    op.drop_table("pipeline_versions")
    op.execute(f"DELETE FROM pipelines WHERE id = '{MANUFACTURING_PIPELINE_ID}'")
    op.drop_column("pipelines", "version")
