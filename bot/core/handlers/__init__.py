"""Chat handlers, one module per area; each parses, calls a service, and returns replies.

They are wired to command words, buttons and flows in one place: bot.core.router.
"""
