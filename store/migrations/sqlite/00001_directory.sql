-- +goose Up
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    website     TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT ''
);

-- The whole service is kept as one JSON document (the domain's Open Referral shape); the
-- columns beside it are what the database itself filters and sorts by.
CREATE TABLE services (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    national        INTEGER NOT NULL DEFAULT 0,
    sample          INTEGER NOT NULL DEFAULT 0,
    last_reviewed   TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX services_organisation ON services (organisation_id);
CREATE INDEX services_name ON services (name);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE services;
DROP TABLE organisations;
