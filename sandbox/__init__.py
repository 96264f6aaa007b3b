"""sandbox: a local Azure region pair (ARM-compatible API over real PostgreSQL, processes and a router)."""
