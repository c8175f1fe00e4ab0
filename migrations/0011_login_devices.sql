-- Log-in throttling without lock-out (OWASP's device cookies) and the sign-up rate limit.

-- A failure made with a valid device cookie counts against that device (its nonce) only, not
-- against the account or the address.
ALTER TABLE login_failures ADD COLUMN device text;
CREATE INDEX login_failures_device_idx ON login_failures (device, failed_at)
    WHERE device IS NOT NULL;

-- Sign-up attempts per client address, kept for the rate limit's hour.
CREATE TABLE signup_attempts (
    id            bigserial PRIMARY KEY,
    address       text NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signup_attempts_address_idx ON signup_attempts (address, attempted_at);
