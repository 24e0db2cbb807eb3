-- +goose Up
-- Every change to a service, numbered in the order it was written, in the same transaction as
-- the change. The index queue hands each change to one instance; this log lets every instance
-- with an index of its own (embedded Bleve) follow every change, and lets a rebuild apply
-- again what changed while it ran. It holds ids and times only, and is pruned after a day.
CREATE TABLE service_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX service_changes_at ON service_changes (changed_at);

-- +goose Down
DROP TABLE service_changes;
