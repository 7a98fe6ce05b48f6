"""the funnel's kept figures cost a stage move O(1) in PostgreSQL: a new stay updates its deal's kept columns
incrementally, the stage counts are found by index, and the trigger functions keep their plans; a head's list finds
the users below them by an index

Measured on a stage move (in-process AdvanceStage, 1,000,000 deals, 16 deals moved back and forth): PostgreSQL CPU
4.0-4.6 ms per move with 0013/0017's triggers, 1.6-1.8 with every report trigger disabled, 2.6-2.85 with these.

- 0013's ``report_stay_added`` called ``report_history_refresh(deal)`` on every new stay: it recomputed
  ``advanced`` for each of the deal's stays, each a look at all its later stays, O(stays^2) per move (3.9 ms at 78
  stays; a deal moved back and forth keeps growing). What a new stay changes is known without the rest. Its own
  columns (the deal's owner, pipeline and ``counted``; whether its stage is in the deal's pipeline version,
  ``known_stage``; ``advanced`` if a later stay is already there, none on the hot path) are set BEFORE INSERT, so
  the row is written once instead of inserted then updated. Then, AFTER INSERT (where every row of a multi-row
  insert is visible), an earlier stay of the deal in a stage before the new one's becomes ``advanced`` when the new
  stage is in the deal's version and not lost. ``advanced`` only ever turns true as stays are added (a later
  qualifying stay is all it asks for), so every row stays equal to ``report_history_values`` if it was before.
  Changes of the deal itself (owner, pipeline, version, registration state) still recompute the deal's stays,
  and ``report_rollups_rebuild()`` everything. A deleted stay can turn an earlier one's ``advanced`` back to false,
  which the incremental rule cannot see: a statement trigger recomputes the deals whose stays were deleted (0013
  corrected those only at the deal's next new stay; the application deletes no stay).
- ``report_deal_changed`` found the stage count to decrement with ``owner_id IS NOT DISTINCT FROM``, which is no
  index condition: every owner's row of the stage was read (10,000 owners: 0.46 ms a move, 17 ms while the table
  was bloated by a bulk load). It now says ``owner_id = ...`` or ``owner_id IS NULL``, both index conditions.
- The connections' ``plan_cache_mode = force_custom_plan`` (``shangji_kit.db``, for the visibility filter's LIKE
  prefixes) also made PL/pgSQL plan every statement of these functions on every call; their statements are key
  lookups, so the hot ones run with ``plan_cache_mode = auto`` (their plans are kept per connection): the earlier
  stays' update 0.6 -> 0.2 ms before its rewrite, the forecast's 0.10 -> 0.05 ms a call.
- Not a trigger, but the other hot cost found on the same measurements: page 1 of ListOpportunities as a department
  head gathers the users below the head (``owner_id IN (users of the departments under a LIKE prefix)``, the kit's
  ``visibility.VisibleRule``), which PostgreSQL did by reading every row of ``org_users`` into a hash join (10,000
  users: 1.8-2.4 ms of a 2.8-4.5 ms page). ``org_users (department_id) INCLUDE (user_id)`` makes it an index-only
  nested loop over the departments found (0.6-0.7 ms); in-process page 1 of a level-5 head at 1,000,000 deals,
  PostgreSQL CPU 3.65-3.92 -> 2.83-3.05 ms.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UPGRADE = """
DROP TRIGGER stage_history_report ON stage_history;
DROP FUNCTION report_stay_added();

-- The new stay's own columns, as report_history_values computes them, before the row is written.
CREATE FUNCTION report_stay_values() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = auto AS $$
DECLARE
  deal record;
BEGIN
  SELECT o.owner_id, o.pipeline_id, o.pipeline_version, o.registration_state = 'active' AS counted,
         s.position
    INTO deal
    FROM opportunities o
    LEFT JOIN pipeline_stages s ON s.pipeline_id = o.pipeline_id AND s.version = o.pipeline_version
                               AND s.key = NEW.stage_key
   WHERE o.id = NEW.opportunity_id;
  IF NOT FOUND THEN
    RETURN NEW;  -- the foreign key refuses the row
  END IF;
  NEW.owner_id := deal.owner_id;
  NEW.pipeline_id := deal.pipeline_id;
  NEW.counted := deal.counted;
  NEW.known_stage := deal.position IS NOT NULL;
  NEW.advanced := deal.position IS NOT NULL AND EXISTS (
    SELECT 1 FROM stage_history later
    JOIN pipeline_stages ls ON ls.pipeline_id = deal.pipeline_id AND ls.version = deal.pipeline_version
                           AND ls.key = later.stage_key
    WHERE later.opportunity_id = NEW.opportunity_id AND later.id > NEW.id AND ls.category <> 'lost'
      AND ls.position > deal.position);
  RETURN NEW;
END $$;

-- The deal's earlier stays that the new one advances from: stages before it, when it is not lost. The stage keys
-- first (a few rows of pipeline_stages), so the stays are matched by key rather than joined one by one.
CREATE FUNCTION report_stay_added() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = auto AS $$
DECLARE
  earlier text[];
BEGIN
  SELECT array_agg(s.key) INTO earlier
    FROM opportunities o
    JOIN pipeline_stages n ON n.pipeline_id = o.pipeline_id AND n.version = o.pipeline_version AND n.key = NEW.stage_key
    JOIN pipeline_stages s ON s.pipeline_id = o.pipeline_id AND s.version = o.pipeline_version
                          AND s.position < n.position
   WHERE o.id = NEW.opportunity_id AND n.category <> 'lost';
  IF earlier IS NOT NULL THEN
    UPDATE stage_history
       SET advanced = true
     WHERE opportunity_id = NEW.opportunity_id AND id < NEW.id AND NOT advanced AND stage_key = ANY(earlier);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER stage_history_report_values BEFORE INSERT ON stage_history
  FOR EACH ROW EXECUTE FUNCTION report_stay_values();
CREATE TRIGGER stage_history_report AFTER INSERT ON stage_history
  FOR EACH ROW WHEN (NEW.known_stage) EXECUTE FUNCTION report_stay_added();

CREATE FUNCTION report_stays_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM report_history_refresh(d.opportunity_id) FROM (SELECT DISTINCT opportunity_id FROM gone) AS d;
  RETURN NULL;
END $$;

CREATE TRIGGER stage_history_report_delete AFTER DELETE ON stage_history
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION report_stays_removed();

CREATE OR REPLACE FUNCTION report_deal_changed() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = auto AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.registration_state = 'active' THEN
    -- The owner as an index condition (IS NOT DISTINCT FROM is only a filter: every owner's row of the stage read).
    IF OLD.owner_id IS NULL THEN
      UPDATE report_stage_counts
         SET deals = deals - 1, amount = amount - coalesce(OLD.amount, 0)
       WHERE pipeline_id = OLD.pipeline_id AND stage_key = OLD.stage_key AND owner_id IS NULL;
    ELSE
      UPDATE report_stage_counts
         SET deals = deals - 1, amount = amount - coalesce(OLD.amount, 0)
       WHERE pipeline_id = OLD.pipeline_id AND stage_key = OLD.stage_key AND owner_id = OLD.owner_id;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.registration_state = 'active' THEN
    INSERT INTO report_stage_counts AS r (owner_id, pipeline_id, stage_key, deals, amount)
    VALUES (NEW.owner_id, NEW.pipeline_id, NEW.stage_key, 1, coalesce(NEW.amount, 0))
    ON CONFLICT ON CONSTRAINT report_stage_counts_key
    DO UPDATE SET deals = r.deals + 1, amount = r.amount + excluded.amount;
  END IF;
  IF TG_OP = 'UPDATE' AND (OLD.owner_id, OLD.pipeline_id, OLD.pipeline_version, OLD.registration_state)
       IS DISTINCT FROM (NEW.owner_id, NEW.pipeline_id, NEW.pipeline_version, NEW.registration_state) THEN
    PERFORM report_history_refresh(NEW.id);
  END IF;
  RETURN NULL;
END $$;

ALTER FUNCTION report_forecast_add(opportunities, integer) SET plan_cache_mode = auto;

-- A head's list gathers the users of the departments below them (visibility.VisibleRule); with the user id beside
-- the department that is an index-only nested loop instead of a scan of every user (below).
CREATE INDEX org_users_department_members ON org_users (department_id) INCLUDE (user_id);
"""

DOWNGRADE = """
DROP INDEX org_users_department_members;
DROP TRIGGER stage_history_report_delete ON stage_history;
DROP FUNCTION report_stays_removed();
DROP TRIGGER stage_history_report ON stage_history;
DROP TRIGGER stage_history_report_values ON stage_history;
DROP FUNCTION report_stay_added();
DROP FUNCTION report_stay_values();

CREATE FUNCTION report_stay_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM report_history_refresh(NEW.opportunity_id);
  RETURN NULL;
END $$;

CREATE TRIGGER stage_history_report AFTER INSERT ON stage_history
  FOR EACH ROW EXECUTE FUNCTION report_stay_added();

CREATE OR REPLACE FUNCTION report_deal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.registration_state = 'active' THEN
    UPDATE report_stage_counts
       SET deals = deals - 1, amount = amount - coalesce(OLD.amount, 0)
     WHERE pipeline_id = OLD.pipeline_id AND stage_key = OLD.stage_key
       AND owner_id IS NOT DISTINCT FROM OLD.owner_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.registration_state = 'active' THEN
    INSERT INTO report_stage_counts AS r (owner_id, pipeline_id, stage_key, deals, amount)
    VALUES (NEW.owner_id, NEW.pipeline_id, NEW.stage_key, 1, coalesce(NEW.amount, 0))
    ON CONFLICT ON CONSTRAINT report_stage_counts_key
    DO UPDATE SET deals = r.deals + 1, amount = r.amount + excluded.amount;
  END IF;
  IF TG_OP = 'UPDATE' AND (OLD.owner_id, OLD.pipeline_id, OLD.pipeline_version, OLD.registration_state)
       IS DISTINCT FROM (NEW.owner_id, NEW.pipeline_id, NEW.pipeline_version, NEW.registration_state) THEN
    PERFORM report_history_refresh(NEW.id);
  END IF;
  RETURN NULL;
END $$;

ALTER FUNCTION report_forecast_add(opportunities, integer) RESET plan_cache_mode;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
