"""The platform-independent chat core: it takes an `Incoming` and returns `Reply` models."""
