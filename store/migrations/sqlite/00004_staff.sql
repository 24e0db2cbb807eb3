-- +goose Up
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    team_id       TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    totp_sealed   BLOB,
    totp_enabled  INTEGER NOT NULL DEFAULT 0,
    -- The time step of the last code accepted: each code works once.
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- One-time links to set a password: only a hash of the link is kept.
CREATE TABLE account_links (
    hash       TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);

-- Signed-in browsers: only a hash of the cookie's token is kept.
CREATE TABLE staff_sessions (
    id_hash    TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    verified   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);

-- Who did what, when, to which thing. Never what a family told us.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_target ON audit (target, id);

-- Working a referral: its state in the clear (for the inbox), notes sealed.
ALTER TABLE referrals ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE referrals ADD COLUMN needs TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN closed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN purged_at TEXT NOT NULL DEFAULT '';
CREATE INDEX referrals_inbox ON referrals (team_id, status, urgent, created_at);

CREATE TABLE referral_notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    reference  TEXT NOT NULL REFERENCES referrals (reference),
    account_id TEXT NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'note',
    at         TEXT NOT NULL,
    sealed     BLOB NOT NULL
);
CREATE INDEX referral_notes_reference ON referral_notes (reference, id);

-- +goose Down
DROP TABLE referral_notes;
DROP INDEX referrals_inbox;
ALTER TABLE referrals DROP COLUMN purged_at;
ALTER TABLE referrals DROP COLUMN closed_at;
ALTER TABLE referrals DROP COLUMN updated_at;
ALTER TABLE referrals DROP COLUMN outcome;
ALTER TABLE referrals DROP COLUMN needs;
ALTER TABLE referrals DROP COLUMN status;
DROP TABLE audit;
DROP TABLE staff_sessions;
DROP TABLE account_links;
DROP TABLE accounts;
