-- Version 1 of the connector-postgres schema (docs/ARCHITECTURE.md, "PostgreSQL").
-- Runs with search_path set to the backend's schema.

-- Task states: the StateStore contract, compare-and-set on `version`.
CREATE TABLE states (
    key_id     text PRIMARY KEY,            -- StateKey::id(): base64url of the key's JSON
    capability text NOT NULL,               -- e.g. FETCH_PAYMENTS
    psu_id     text,
    parent     text,                        -- the parent item (account reference, ...)
    version    bigint NOT NULL CHECK (version > 0),
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    reference     text PRIMARY KEY,
    created_at    timestamptz NOT NULL,
    name          text,
    default_asset text,                     -- UMN, e.g. EUR/2
    psu_id        text,
    connection_id text,                     -- openBankingConnectionID
    metadata      json NOT NULL,            -- verbatim; cast to jsonb to query
    raw           json NOT NULL,            -- the provider's JSON, verbatim
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE external_accounts (LIKE accounts INCLUDING ALL);

CREATE TABLE balances (
    account_reference text NOT NULL,
    asset             text NOT NULL,
    created_at        timestamptz NOT NULL,
    amount            numeric(39, 0) NOT NULL,   -- minor units of asset
    available_amount  numeric(39, 0),
    psu_id            text,
    connection_id     text,
    PRIMARY KEY (account_reference, asset, created_at)
);

CREATE TABLE payments (
    reference                     text PRIMARY KEY,
    parent_reference              text,
    created_at                    timestamptz NOT NULL,
    type                          text NOT NULL,          -- PAY-IN, PAYOUT, ...
    amount                        numeric(39, 0) NOT NULL, -- positive minor units of asset
    asset                         text NOT NULL,
    scheme                        text NOT NULL,
    status                        text NOT NULL,          -- CANCELLED after a payment_to_cancel
    source_account_reference      text,
    destination_account_reference text,
    psu_id                        text,
    connection_id                 text,
    metadata                      json NOT NULL,
    raw                           json NOT NULL,
    -- how many times a record of this reference was stored: a payment the connector emits
    -- again (matured, changed) counts once more; a crash and resume never adds one
    writes                        integer NOT NULL DEFAULT 1,
    updated_at                    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_psu_id ON payments (psu_id);

-- Connection and user events, each fact once (event_key: kind and its identifying fields).
CREATE TABLE connection_events (
    event_key     text PRIMARY KEY,
    kind          text NOT NULL,                -- the record's kind tag
    psu_id        text,
    psp_user_id   text,
    connection_id text,
    at            timestamptz,
    record        json NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- The PSU registry and the processed webhook keys live in `states` (the engine keeps them in
-- its state store); these views read them. The user's token stays in `states.value` only.
CREATE VIEW psu_registry AS
    SELECT substr(parent, length('psp-user/') + 1) AS psp_user_id,
           value ->> 'psuID' AS psu_id,
           value ->> 'connectorID' AS connector_id,
           updated_at
    FROM states
    WHERE capability = 'TRANSLATE_WEBHOOKS' AND parent LIKE 'psp-user/%';

CREATE VIEW webhooks_processed AS
    SELECT substr(parent, length('webhook/') + 1) AS idempotency_key,
           (value ->> 'processedAt') AS processed_at
    FROM states
    WHERE capability = 'TRANSLATE_WEBHOOKS' AND parent LIKE 'webhook/%';
