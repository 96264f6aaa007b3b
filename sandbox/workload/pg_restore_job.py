"""The `pg-restore` job image: restore a pg_dump archive into a new, empty server with PostgreSQL's own
pg_restore (the path Azure documents for a long-term backup), then exit with pg_restore's code.

Environment: ARCHIVE_URL (a read-only SAS URL of the archive blob; a secure value), TARGET_HOST
(``host:port`` of the new server), the database URL read as every workload reads it (its user and
password log in to the new server, whose administrator they are). Prints what it did, never a secret.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def download(url: str, target: Path, ca_bundle: str | None) -> int:
    """Read the blob the SAS URL names into ``target``; returns its size."""
    from azure.storage.blob import BlobClient

    with BlobClient.from_blob_url(url, connection_verify=ca_bundle or True) as blob, target.open("wb") as f:
        return int(blob.download_blob().readinto(f))


def run_restore(env: Mapping[str, str], database_url: str) -> int:
    archive_url, target = env.get("ARCHIVE_URL", ""), env.get("TARGET_HOST", "")
    if not archive_url or not target:
        print("pg-restore job: ARCHIVE_URL and TARGET_HOST are required", flush=True)
        return 2
    login = urlsplit(database_url)
    host, _, port = target.rpartition(":") if ":" in target else (target, "", "5432")
    with tempfile.TemporaryDirectory() as work:
        archive = Path(work) / "archive.dump"
        try:
            size = download(archive_url, archive, env.get("SANDBOX_CA_BUNDLE"))
        except Exception as exc:
            print(f"pg-restore job: cannot read the archive: {type(exc).__name__}", flush=True)
            return 3
        print(f"pg-restore job: archive read ({size} bytes)", flush=True)
        argv = [str(PG_BIN / "pg_restore"), "--create", "--no-owner", "--no-privileges", "--exit-on-error"]
        argv += ["-h", host, "-p", port, "-U", unquote(login.username or ""), "-d", "postgres", str(archive)]
        child_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PGPASSWORD": unquote(login.password or ""),
        }
        done = subprocess.run(argv, env=child_env, capture_output=True, text=True, timeout=1800, check=False)
    for line in (done.stderr or "").splitlines()[-20:]:
        print(f"pg_restore: {line}", flush=True)
    print(f"pg-restore job: pg_restore exited with {done.returncode}", flush=True)
    return done.returncode
