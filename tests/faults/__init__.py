"""Fault tests: the bot killed, kept down, doubled, and answered with errors; the same scenarios run
at full size by the scripts in bench/."""
