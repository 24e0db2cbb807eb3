-- +goose Up
-- Short-lived values shared by every instance using this database: CSRF tokens, for now.
CREATE TABLE kv (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    expires_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX kv_expiry ON kv (expires_at);

-- +goose Down
DROP TABLE kv;
