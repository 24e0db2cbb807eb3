-- +goose Up
-- A referral's contents are sealed (AES-256-GCM) in `sealed`; the columns beside it say only
-- where it went, how urgent it is and when it came.
CREATE TABLE referrals (
    reference   TEXT PRIMARY KEY,
    draft_key   TEXT NOT NULL UNIQUE,
    team_id     TEXT NOT NULL,
    also_teams  TEXT NOT NULL DEFAULT '',
    urgent      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    sealed      BLOB NOT NULL
);
CREATE INDEX referrals_team ON referrals (team_id, created_at);

-- Notifications written in the same transaction as their referral, sent by the outbox worker.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE,
    reference       TEXT NOT NULL REFERENCES referrals (reference),
    kind            TEXT NOT NULL,
    team_id         TEXT NOT NULL DEFAULT '',
    sealed          BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_until    TEXT NOT NULL DEFAULT '',
    sent_at         TEXT NOT NULL DEFAULT '',
    gave_up         INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (sent_at, gave_up, next_attempt_at);

-- Answers between the pages of the journey, sealed, deleted when they expire.
CREATE TABLE drafts (
    id         TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX drafts_expiry ON drafts (expires_at);

-- +goose Down
DROP TABLE drafts;
DROP TABLE outbox;
DROP TABLE referrals;
