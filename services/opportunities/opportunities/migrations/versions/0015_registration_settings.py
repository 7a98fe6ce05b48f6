"""registration settings keep who changed them and when (UpdateRegistrationSettings); the shipped pipelines' version 3

- ``registration_settings``: ``version`` (the etag), ``update_time`` and ``updated_by`` (NULL until someone changes
  them through the API or the CLI).
- The shipped pipelines as shipped in services/opportunities/pipelines/*.yaml now: manufacturing's trial checklist
  item and its entry task go to ``presales`` (teams has no ``engineer`` role, so the task always fell to the owner),
  and both use the decision-maker gate: software's 确定决策者 stage is left only once the deal's decision chain
  names a decision maker, manufacturing's 客户项目验证 likewise before the project is imported (won). Version 3 is
  version 2 (0008) with these changes; deals keep the version they follow until migrated with
  MigrateOpportunities, new deals take version 3. A pipeline someone already edited past version 2 is left alone.

Revision ID: 0015
Revises: 0014
"""

import copy
import importlib
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_V2 = importlib.import_module("opportunities.migrations.versions.0008_pipeline_tasks")
SOFTWARE_PIPELINE_ID = _V2._V1.SOFTWARE_PIPELINE_ID
MANUFACTURING_PIPELINE_ID = _V2._V1.MANUFACTURING_PIPELINE_ID
DECISION_MAKER = {"decision_maker_identified": True}
# pipeline -> stage key -> exit criteria added at the end of the stage's own
GATES = {SOFTWARE_PIPELINE_ID: {"decision_maker": [DECISION_MAKER]},
         MANUFACTURING_PIPELINE_ID: {"project_validation": [DECISION_MAKER]}}
ROLES = {"engineer": "presales"}  # role renamed in checklists and tasks on entry


def version_3(definition: dict, gates: dict[str, list[dict]]) -> dict:
    out = copy.deepcopy(definition)
    for stage in out["stages"]:
        if "checklist" in stage:
            stage["checklist"] = {ROLES.get(role, role): items for role, items in stage["checklist"].items()}
        for task in stage.get("tasks_on_entry", []):
            task["role"] = ROLES.get(task.get("role", ""), task.get("role", ""))
        if stage["key"] in gates:
            stage["exit_criteria"] = [*stage.get("exit_criteria", []), *gates[stage["key"]]]
    return out


def shipped() -> dict[str, dict]:
    """Version 3 of each shipped pipeline (tests compare it with the YAML files)."""
    v1 = _V2._V1
    return {pipeline_id: version_3(_V2._version_2(definition, _V2.TASKS[pipeline_id]), GATES[pipeline_id])
            for pipeline_id, definition in ((SOFTWARE_PIPELINE_ID, v1.SOFTWARE),
                                             (MANUFACTURING_PIPELINE_ID, v1.MANUFACTURING))}


def upgrade() -> None:
    op.add_column("registration_settings", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("registration_settings", sa.Column("update_time", sa.DateTime(timezone=True), nullable=False,
                                                     server_default=sa.func.now()))
    op.add_column("registration_settings", sa.Column("updated_by", pg.UUID(as_uuid=False)))
    conn = op.get_bind()
    for pipeline_id, v3 in shipped().items():
        current = conn.execute(sa.text("SELECT version FROM pipelines WHERE id = :p"), {"p": pipeline_id}).scalar()
        if current != 2:
            continue
        conn.execute(sa.text("INSERT INTO pipeline_versions (pipeline_id, version, definition) "
                             "VALUES (:p, 3, CAST(:d AS jsonb))"),
                     {"p": pipeline_id, "d": json.dumps(v3, ensure_ascii=False)})
        conn.execute(sa.text("INSERT INTO pipeline_stages (pipeline_id, version, key, position, display_name, "
                             "category, probability) SELECT pipeline_id, 3, key, position, display_name, category, "
                             "probability FROM pipeline_stages WHERE pipeline_id = :p AND version = 2"),
                     {"p": pipeline_id})
        conn.execute(sa.text("UPDATE pipelines SET version = 3 WHERE id = :p"), {"p": pipeline_id})


def downgrade() -> None:
    conn = op.get_bind()
    for pipeline_id in GATES:
        conn.execute(sa.text("UPDATE pipelines SET version = 2 WHERE id = :p AND version = 3"), {"p": pipeline_id})
        conn.execute(sa.text("DELETE FROM pipeline_stages WHERE pipeline_id = :p AND version = 3"), {"p": pipeline_id})
        conn.execute(sa.text("DELETE FROM pipeline_versions WHERE pipeline_id = :p AND version = 3"),
                     {"p": pipeline_id})
    for column in ("updated_by", "update_time", "version"):
        op.drop_column("registration_settings", column)
