"""pool_settings tells every process's settings cache when it changes (a statement trigger's NOTIFY, on commit)

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from shangji_kit.migrate import add_cache_invalidation, drop_cache_invalidation

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# PoolSettingsRepository.CACHE_NAME; written out so that the migration does not move if the class does.
CACHE_NAME = "leads.pool_settings"


def upgrade() -> None:
    add_cache_invalidation(op.get_bind(), "pool_settings", CACHE_NAME)


def downgrade() -> None:
    drop_cache_invalidation(op.get_bind(), "pool_settings")
