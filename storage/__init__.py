"""What is true: models, migrations, repositories, the plan importer and summary queries.

Knows nothing of chat platforms or chat text; `scheduler` and `bot` depend on it, never the reverse.
"""
