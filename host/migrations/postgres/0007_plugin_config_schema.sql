-- The JSON Schema a component declares for its config (contract 0.2.0's optional `config`
-- export), read at upload; NULL when it declares none.
ALTER TABLE plugins ADD COLUMN config_schema TEXT;
