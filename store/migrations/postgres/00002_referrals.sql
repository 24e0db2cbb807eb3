-- +goose Up
-- A referral's contents are sealed (AES-256-GCM) in `sealed`; the columns beside it say only
-- where it went, how urgent it is and when it came.
CREATE TABLE referrals (
    reference   text PRIMARY KEY,
    draft_key   text NOT NULL UNIQUE,
    team_id     text NOT NULL,
    also_teams  text NOT NULL DEFAULT '',
    urgent      boolean NOT NULL DEFAULT false,
    created_at  text COLLATE "C" NOT NULL,
    sealed      bytea NOT NULL
);
CREATE INDEX referrals_team ON referrals (team_id, created_at);

-- Notifications written in the same transaction as their referral, sent by the outbox worker.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    key             text NOT NULL UNIQUE,
    reference       text NOT NULL REFERENCES referrals (reference),
    kind            text NOT NULL,
    team_id         text NOT NULL DEFAULT '',
    sealed          bytea NOT NULL,
    created_at      text COLLATE "C" NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at text COLLATE "C" NOT NULL,
    leased_until    text COLLATE "C" NOT NULL DEFAULT '',
    sent_at         text COLLATE "C" NOT NULL DEFAULT '',
    gave_up         boolean NOT NULL DEFAULT false,
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (sent_at, gave_up, next_attempt_at);

-- Answers between the pages of the journey, sealed, deleted when they expire.
CREATE TABLE drafts (
    id         text PRIMARY KEY,
    sealed     bytea NOT NULL,
    expires_at text COLLATE "C" NOT NULL
);
CREATE INDEX drafts_expiry ON drafts (expires_at);

-- +goose Down
DROP TABLE drafts;
DROP TABLE outbox;
DROP TABLE referrals;
