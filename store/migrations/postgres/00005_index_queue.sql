-- +goose Up
-- The outbox between the services table and the search index: a row says that the index must
-- be brought into step with a service's current state. It is written in the same transaction
-- as the change, so an engine that is down loses nothing.
--
-- One row per service: saving a service again while its row waits only bumps `version`, so a
-- burst of edits costs one index update. `claims` counts leases, so a worker whose lease ran out
-- cannot finish or release a row that another worker holds now. The row holds no personal data:
-- `last_error` is a fixed phrase, never an engine's message.
CREATE TABLE index_queue (
    id              bigserial PRIMARY KEY,
    service_id      text NOT NULL UNIQUE,
    version         integer NOT NULL DEFAULT 1,
    claims          integer NOT NULL DEFAULT 0,
    queued_at       text COLLATE "C" NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at text COLLATE "C" NOT NULL,
    leased_until    text COLLATE "C" NOT NULL DEFAULT '',
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX index_queue_due ON index_queue (next_attempt_at, id);

-- +goose Down
DROP TABLE index_queue;
