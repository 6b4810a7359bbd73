"""Telegram through python-telegram-bot: rendering, update reading, the transport and the runner."""
