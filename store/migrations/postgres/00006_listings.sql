-- +goose Up
-- When a listing's review falls due, if an editor chose a date; empty means six months after
-- it was last checked. Saving a service leaves it alone.
ALTER TABLE services ADD COLUMN review_due text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX services_status ON services (status, name);

-- Problems the public reported with a service's page: what is wrong, never who said so.
CREATE TABLE listing_reports (
    id          bigserial PRIMARY KEY,
    service_id  text NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    body        text NOT NULL,
    created_at  text COLLATE "C" NOT NULL,
    resolved_at text COLLATE "C" NOT NULL DEFAULT '',
    resolved_by text NOT NULL DEFAULT ''
);
CREATE INDEX listing_reports_service ON listing_reports (service_id, resolved_at);

-- +goose Down
DROP TABLE listing_reports;
DROP INDEX services_status;
ALTER TABLE services DROP COLUMN review_due;
