-- accounts: profiles (bio, avatar, a public list of what one backed, an identity a regulator
-- verified), accounts deleted into tombstones, password resets and e-mail changes by link.

ALTER TABLE users
    ADD COLUMN bio text NOT NULL DEFAULT '' CHECK (length(bio) <= 500),
    ADD COLUMN backed_public boolean NOT NULL DEFAULT false,
    ADD COLUMN identity_verified_at timestamptz,
    -- A deleted account keeps its row (money and ledger references hold) without personal data.
    ADD COLUMN deleted_at timestamptz;

-- One avatar per user, at most 1 MiB, of a checked image type.
CREATE TABLE user_avatars (
    user_id      uuid PRIMARY KEY REFERENCES users (id),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    bytes        bytea NOT NULL CHECK (length(bytes) BETWEEN 1 AND 1048576),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A password reset link: only the SHA-256 of its token is kept; single use, 30 minutes.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- Reset requests per address and per e-mail, kept for the rate limit's hour.
CREATE TABLE password_reset_requests (
    id           bigserial PRIMARY KEY,
    address      text,
    email        text NOT NULL CHECK (length(email) <= 254),
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_email_idx ON password_reset_requests (email, requested_at);
CREATE INDEX password_reset_requests_address_idx ON password_reset_requests (address, requested_at);

-- A change of e-mail waiting for its link to be opened (the token kept hashed, 24 hours).
CREATE TABLE email_changes (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id),
    new_email  text NOT NULL CHECK (length(new_email) BETWEEN 3 AND 254),
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX email_changes_user_idx ON email_changes (user_id);

-- A deleted account is written to no more.
CREATE OR REPLACE VIEW mail_contacts AS
    SELECT id, email, language FROM users WHERE deleted_at IS NULL;
