-- +goose Up
CREATE TABLE accounts (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    role          text NOT NULL,
    team_id       text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    totp_sealed   bytea,
    totp_enabled  boolean NOT NULL DEFAULT false,
    -- The time step of the last code accepted: each code works once.
    totp_last_step bigint NOT NULL DEFAULT 0,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    text COLLATE "C" NOT NULL
);

-- One-time links to set a password: only a hash of the link is kept.
CREATE TABLE account_links (
    hash       text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at text COLLATE "C" NOT NULL
);

-- Signed-in browsers: only a hash of the cookie's token is kept.
CREATE TABLE staff_sessions (
    id_hash    text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at text COLLATE "C" NOT NULL,
    last_seen  text COLLATE "C" NOT NULL,
    verified   boolean NOT NULL DEFAULT false
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);

-- Who did what, when, to which thing. Never what a family told us.
CREATE TABLE audit (
    id         bigserial PRIMARY KEY,
    at         text COLLATE "C" NOT NULL,
    account_id text NOT NULL DEFAULT '',
    actor      text NOT NULL DEFAULT '',
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT ''
);
CREATE INDEX audit_target ON audit (target, id);

-- Working a referral: its state in the clear (for the inbox), notes sealed.
ALTER TABLE referrals
    ADD COLUMN status text NOT NULL DEFAULT 'new',
    ADD COLUMN needs text NOT NULL DEFAULT '',
    ADD COLUMN outcome text NOT NULL DEFAULT '',
    ADD COLUMN updated_at text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN closed_at text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN purged_at text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX referrals_inbox ON referrals (team_id, status, urgent, created_at);

CREATE TABLE referral_notes (
    id         bigserial PRIMARY KEY,
    reference  text NOT NULL REFERENCES referrals (reference),
    account_id text NOT NULL,
    actor      text NOT NULL,
    kind       text NOT NULL DEFAULT 'note',
    at         text COLLATE "C" NOT NULL,
    sealed     bytea NOT NULL
);
CREATE INDEX referral_notes_reference ON referral_notes (reference, id);

-- +goose Down
DROP TABLE referral_notes;
DROP INDEX referrals_inbox;
ALTER TABLE referrals
    DROP COLUMN purged_at,
    DROP COLUMN closed_at,
    DROP COLUMN updated_at,
    DROP COLUMN outcome,
    DROP COLUMN needs,
    DROP COLUMN status;
DROP TABLE audit;
DROP TABLE staff_sessions;
DROP TABLE account_links;
DROP TABLE accounts;
