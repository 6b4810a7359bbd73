"""The coordinators' web dashboard: server-rendered pages on aiohttp, signed in from chat (/web).

Pages read through the same storage and summary functions as chat; forms act through the chat
core (`Core.act`, `Core.handle`), so the dashboard has no rules of its own.
"""
