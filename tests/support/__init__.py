"""What tests share, in one place: the fake Durable runtime, settings, fake estates, helpers (test files
never import one another)."""
