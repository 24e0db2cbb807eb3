-- +goose Up
-- Short-lived values shared by every instance using this database: CSRF tokens, for now.
CREATE TABLE kv (
    key        text PRIMARY KEY,
    value      bytea NOT NULL,
    expires_at text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX kv_expiry ON kv (expires_at);

-- +goose Down
DROP TABLE kv;
