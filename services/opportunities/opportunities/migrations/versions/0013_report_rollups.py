"""the funnel reads figures kept on write: deals per owner and stage, and each stay's owner, pipeline and fate

At 1,000,000 deals the funnel's aggregates scanned every deal (stage totals: 310 ms) and joined every stay of
the period to its deal, with a correlated look at the deal's later stays per stay (1.2-1.9 s a funnel). Triggers
now keep, in the same transaction as the write:

- ``report_stage_counts``: active deals and their amount per (pipeline, stage, owner), so "deals in each stage
  now" sums at most owners x stages rows instead of reading every deal;
- on each ``stage_history`` row, its deal's owner, pipeline and whether the deal counts (an active registration),
  whether its stage is in the deal's current pipeline version, and whether the deal went on from it to a later,
  not lost stage (``advanced``), so the period's conversion and time in stage read the period's stays alone.

The stay columns are a function of the deal and its stays: ``report_history_refresh(deal)`` recomputes them for
one deal (after a stay is added, and when the deal's owner, pipeline, version or registration state changes);
pipeline versions never change once written, so nothing else moves them.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE stage_history
  ADD COLUMN owner_id uuid,
  ADD COLUMN pipeline_id uuid,
  ADD COLUMN counted boolean NOT NULL DEFAULT false,
  ADD COLUMN known_stage boolean NOT NULL DEFAULT false,
  ADD COLUMN advanced boolean NOT NULL DEFAULT false;

CREATE TABLE report_stage_counts (
  owner_id uuid,
  pipeline_id uuid NOT NULL,
  stage_key text NOT NULL,
  deals bigint NOT NULL,
  amount numeric(24, 2) NOT NULL,
  CONSTRAINT report_stage_counts_key UNIQUE NULLS NOT DISTINCT (pipeline_id, stage_key, owner_id)
);

-- What each stay's report columns must hold, from its deal and the deal's stays (the funnel's old joins).
CREATE VIEW report_history_values AS
SELECT h.id, h.opportunity_id, o.owner_id, o.pipeline_id, o.registration_state = 'active' AS counted,
       s.key IS NOT NULL AS known_stage,
       s.key IS NOT NULL AND EXISTS (
         SELECT 1 FROM stage_history later
         JOIN pipeline_stages ls ON ls.pipeline_id = o.pipeline_id AND ls.version = o.pipeline_version
                                AND ls.key = later.stage_key
         WHERE later.opportunity_id = h.opportunity_id AND later.id > h.id AND ls.category <> 'lost'
           AND ls.position > s.position) AS advanced
FROM stage_history h
JOIN opportunities o ON o.id = h.opportunity_id
LEFT JOIN pipeline_stages s ON s.pipeline_id = o.pipeline_id AND s.version = o.pipeline_version
                           AND s.key = h.stage_key;

CREATE FUNCTION report_history_refresh(deal uuid) RETURNS void LANGUAGE sql AS $$
  UPDATE stage_history h
     SET owner_id = v.owner_id, pipeline_id = v.pipeline_id, counted = v.counted, known_stage = v.known_stage,
         advanced = v.advanced
    FROM report_history_values v
   WHERE v.opportunity_id = deal AND h.id = v.id
     AND (h.owner_id, h.pipeline_id, h.counted, h.known_stage, h.advanced)
         IS DISTINCT FROM (v.owner_id, v.pipeline_id, v.counted, v.known_stage, v.advanced)
$$;

CREATE FUNCTION report_stay_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM report_history_refresh(NEW.opportunity_id);
  RETURN NULL;
END $$;

CREATE TRIGGER stage_history_report AFTER INSERT ON stage_history
  FOR EACH ROW EXECUTE FUNCTION report_stay_added();

CREATE FUNCTION report_deal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER opportunities_report_insert AFTER INSERT ON opportunities
  FOR EACH ROW EXECUTE FUNCTION report_deal_changed();
CREATE TRIGGER opportunities_report_delete AFTER DELETE ON opportunities
  FOR EACH ROW EXECUTE FUNCTION report_deal_changed();
CREATE TRIGGER opportunities_report_update AFTER UPDATE ON opportunities
  FOR EACH ROW WHEN ((OLD.owner_id, OLD.pipeline_id, OLD.pipeline_version, OLD.stage_key, OLD.registration_state,
                      OLD.amount)
                     IS DISTINCT FROM (NEW.owner_id, NEW.pipeline_id, NEW.pipeline_version, NEW.stage_key,
                                       NEW.registration_state, NEW.amount))
  EXECUTE FUNCTION report_deal_changed();

-- Rebuilds every kept figure from the deals and their stays (after a bulk load with triggers off).
CREATE FUNCTION report_rollups_rebuild() RETURNS void LANGUAGE sql AS $$
  DELETE FROM report_stage_counts;
  INSERT INTO report_stage_counts (owner_id, pipeline_id, stage_key, deals, amount)
  SELECT owner_id, pipeline_id, stage_key, count(*), coalesce(sum(amount), 0)
    FROM opportunities WHERE registration_state = 'active' GROUP BY owner_id, pipeline_id, stage_key;
  UPDATE stage_history h
     SET owner_id = v.owner_id, pipeline_id = v.pipeline_id, counted = v.counted, known_stage = v.known_stage,
         advanced = v.advanced
    FROM report_history_values v WHERE h.id = v.id;
$$;

SELECT report_rollups_rebuild();

CREATE INDEX stage_history_report_enter ON stage_history (pipeline_id, enter_time)
  INCLUDE (stage_key, owner_id, opportunity_id, advanced) WHERE counted AND known_stage;
CREATE INDEX stage_history_report_exit ON stage_history (pipeline_id, exit_time)
  INCLUDE (stage_key, owner_id, opportunity_id, enter_time) WHERE counted AND exit_time IS NOT NULL;
"""

DOWNGRADE = """
DROP TRIGGER opportunities_report_update ON opportunities;
DROP TRIGGER opportunities_report_delete ON opportunities;
DROP TRIGGER opportunities_report_insert ON opportunities;
DROP TRIGGER stage_history_report ON stage_history;
DROP FUNCTION report_rollups_rebuild();
DROP FUNCTION report_deal_changed();
DROP FUNCTION report_stay_added();
DROP FUNCTION report_history_refresh(uuid);
DROP VIEW report_history_values;
DROP TABLE report_stage_counts;
ALTER TABLE stage_history DROP COLUMN owner_id, DROP COLUMN pipeline_id, DROP COLUMN counted,
  DROP COLUMN known_stage, DROP COLUMN advanced;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
