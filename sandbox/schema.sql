-- Schema of the QLP workload's database (qlp_db), created by the sandbox at `up`.
-- pgvector is not installable here (no Debian package for PostgreSQL 15 on this system), so the
-- embedding is a float8[] and the workload computes cosine similarity in SQL over it.
CREATE TABLE intents (
    id bigserial PRIMARY KEY,
    text text NOT NULL,
    embedding float8[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sentinels (
    name text PRIMARY KEY,
    written_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schema_version (
    version int NOT NULL
);

INSERT INTO schema_version (version) VALUES (1);
INSERT INTO sentinels (name) VALUES ('sandbox-initial');
