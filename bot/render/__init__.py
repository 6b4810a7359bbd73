"""Turning reply models into what people read: chat text, documents, charts."""
