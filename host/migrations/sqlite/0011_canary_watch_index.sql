-- Every node lists the canaries once a second (`WHERE status = 'canary'`): a partial index keeps
-- that a look-up of the few canaries rather than a scan of every deployment ever made.
CREATE INDEX deployments_canaries ON deployments (status) WHERE status = 'canary';
