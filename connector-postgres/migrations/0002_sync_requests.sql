-- Version 2: syncs asked of the replica holding a PSU (docs/ARCHITECTURE.md, "PostgreSQL").
-- A replica asked to sync a PSU another replica holds (a webhook, a completed link) records
-- the request here; the holder takes it at its next round (every 2 s) and syncs the PSU.
CREATE TABLE sync_requests (
    psu_id       text PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now()
);
