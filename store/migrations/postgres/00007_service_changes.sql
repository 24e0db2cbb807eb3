-- +goose Up
-- Every change to a service, numbered in the order it was written, in the same transaction as
-- the change. The index queue hands each change to one instance; this log lets every instance
-- with an index of its own (embedded Bleve) follow every change, and lets a rebuild apply
-- again what changed while it ran. It holds ids and times only, and is pruned after a day.
--
-- Numbers are taken when a change is written, not when it commits, so a reader can see 12
-- before 11 commits, and a rolled-back change leaves its number unused: readers allow for both.
CREATE TABLE service_changes (
    seq        bigserial PRIMARY KEY,
    service_id text NOT NULL,
    changed_at text COLLATE "C" NOT NULL
);
CREATE INDEX service_changes_at ON service_changes (changed_at);

-- +goose Down
DROP TABLE service_changes;
