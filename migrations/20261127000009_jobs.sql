-- Background jobs (emails, ...): claimed with SKIP LOCKED, retried with back-off.
CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    run_at        timestamptz NOT NULL DEFAULT now(),
    attempts      int NOT NULL DEFAULT 0,
    max_attempts  int NOT NULL DEFAULT 8,
    last_error    text,
    done_at       timestamptz,
    failed        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due_idx ON jobs(run_at) WHERE done_at IS NULL;
