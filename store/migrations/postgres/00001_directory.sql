-- +goose Up
-- The same tables as the SQLite migrations, in PostgreSQL's types. Times are text in the
-- fixed-width UTC form the Go code writes, with '' for "not yet", and compared as text exactly
-- as in SQLite; COLLATE "C" makes that comparison bytewise whatever the database's locale, so
-- one SQL text serves both engines.
CREATE TABLE organisations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    website     text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT ''
);

-- The whole service is kept as one JSON document (the domain's Open Referral shape); the
-- columns beside it are what the database itself filters and sorts by.
CREATE TABLE services (
    id              text PRIMARY KEY,
    organisation_id text NOT NULL REFERENCES organisations (id),
    name            text NOT NULL,
    status          text NOT NULL,
    national        boolean NOT NULL DEFAULT false,
    sample          boolean NOT NULL DEFAULT false,
    last_reviewed   text COLLATE "C" NOT NULL,
    updated_at      text COLLATE "C" NOT NULL,
    data            jsonb NOT NULL
);
CREATE INDEX services_organisation ON services (organisation_id);
CREATE INDEX services_name ON services (name);

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE services;
DROP TABLE organisations;
