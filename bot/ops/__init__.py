"""What the people who run nhacviec need: backups, health and metrics, logs, graceful shutdown."""
