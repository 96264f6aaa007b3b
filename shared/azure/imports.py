"""One lock for the adapters' lazy SDK imports.

Activities run on a thread pool (in Azure and on devhost). Two threads importing parts of azure.core (or
psycopg) for the first time at once can meet a circular import in each other's way, and Python then
raises ``_DeadlockError`` ("deadlock detected by _ModuleLock(...)") in one of them. Every lazy import of
an SDK module in shared/azure/ happens under this lock; once a module is loaded the lock costs nothing
that matters (an uncontended acquire).
"""

from __future__ import annotations

import threading

SDK_IMPORT_LOCK = threading.RLock()
