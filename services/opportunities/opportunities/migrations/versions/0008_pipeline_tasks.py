"""the shipped pipelines' version 2: tasks created on entering a stage

Revision ID: 0008
Revises: 0007

Deals keep the version they follow (version 1) until migrated with MigrateOpportunities; new deals take
version 2. A pipeline someone already edited past version 1 is left alone. The definitions are version 1's
frozen copies (0003) with the tasks of services/opportunities/pipelines/*.yaml as first shipped.
"""

import copy
import importlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_V1 = importlib.import_module("opportunities.migrations.versions.0003_pipelines")
TASKS = {  # pipeline -> stage key -> tasks on entry
    _V1.SOFTWARE_PIPELINE_ID: {"analyse": [{"title": "编写解决方案", "role": "presales", "due_in_days": 7}]},
    _V1.MANUFACTURING_PIPELINE_ID: {
        "project_validation": [{"title": "安排试产验证", "role": "engineer", "due_in_days": 14}]},
}


def _version_2(definition: dict, tasks: dict[str, list[dict]]) -> dict:
    out = copy.deepcopy(definition)
    for stage in out["stages"]:
        if stage["key"] in tasks:
            stage["tasks_on_entry"] = tasks[stage["key"]]
    return out


def upgrade() -> None:
    conn = op.get_bind()
    for pipeline_id, definition in ((_V1.SOFTWARE_PIPELINE_ID, _V1.SOFTWARE),
                                    (_V1.MANUFACTURING_PIPELINE_ID, _V1.MANUFACTURING)):
        current = conn.execute(sa.text("SELECT version FROM pipelines WHERE id = :p"), {"p": pipeline_id}).scalar()
        if current != 1:
            continue
        v2 = _version_2(definition, TASKS[pipeline_id])
        conn.execute(sa.text("INSERT INTO pipeline_versions (pipeline_id, version, definition) "
                             "VALUES (:p, 2, CAST(:d AS jsonb))"),
                     {"p": pipeline_id, "d": json.dumps(v2, ensure_ascii=False)})
        conn.execute(sa.text("INSERT INTO pipeline_stages (pipeline_id, version, key, position, display_name, "
                             "category, probability) SELECT pipeline_id, 2, key, position, display_name, category, "
                             "probability FROM pipeline_stages WHERE pipeline_id = :p AND version = 1"),
                     {"p": pipeline_id})
        conn.execute(sa.text("UPDATE pipelines SET version = 2 WHERE id = :p"), {"p": pipeline_id})


def downgrade() -> None:
    conn = op.get_bind()
    for pipeline_id in TASKS:
        conn.execute(sa.text("UPDATE pipelines SET version = 1 WHERE id = :p AND version = 2"), {"p": pipeline_id})
        conn.execute(sa.text("DELETE FROM pipeline_stages WHERE pipeline_id = :p AND version = 2"), {"p": pipeline_id})
        conn.execute(sa.text("DELETE FROM pipeline_versions WHERE pipeline_id = :p AND version = 2"),
                     {"p": pipeline_id})
