"""Plans: reading a plan file (parser), writing it to the database (importer) and reading it back
(repository).

- `storage.plans.importer.import_plan_file(session, path) -> ImportReport`
- `storage.plans.parser.parse_plan_file(path) -> ParsedPlan` (no database)
- `storage.plans.repository`: `get_plan`, `list_plans`, `plan_document`, `reporting_deadlines`
- `storage.plans.timeframe.parse_timeframe(text, year) -> Timeframe`
"""
