"""Transports carry core replies to a platform and platform updates to the core."""
