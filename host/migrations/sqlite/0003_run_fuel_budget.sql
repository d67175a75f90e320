-- Each run records the fuel budget it was given beside the fuel it used, so run history shows a
-- brand team its headroom (and a failed call how far over it went). Runs recorded before this
-- column existed have no budget on record.
ALTER TABLE plugin_runs ADD COLUMN fuel_budget BIGINT;
