-- +goose Up
-- When a listing's review falls due, if an editor chose a date; empty means six months after
-- it was last checked. Saving a service leaves it alone.
ALTER TABLE services ADD COLUMN review_due TEXT NOT NULL DEFAULT '';
CREATE INDEX services_status ON services (status, name);

-- Problems the public reported with a service's page: what is wrong, never who said so.
CREATE TABLE listing_reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id  TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    resolved_at TEXT NOT NULL DEFAULT '',
    resolved_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX listing_reports_service ON listing_reports (service_id, resolved_at);

-- +goose Down
DROP TABLE listing_reports;
DROP INDEX services_status;
ALTER TABLE services DROP COLUMN review_due;
