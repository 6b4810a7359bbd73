"""Reading /metrics as Prometheus does, so that tests compare values rather than number formatting."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def scraped(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, frozenset of label pairs): value} for every sample in `text`."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return scraped(text).get((name, frozenset(labels.items())))


def families(text: str) -> dict[str, tuple[str, str]]:
    """{family name: (type, help)}, in the order exposed."""
    return {
        family.name: (family.type, family.documentation) for family in text_string_to_metric_families(text)
    }
