"""Messages the importer hands up: warnings that do not stop an import, and the error that does.

Storage knows no language. Each message is an English template (the gettext msgid, marked with N_
for extraction) plus its parameters; `str()` gives the English text, and the bot translates the
template before formatting it for a Vietnamese reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def N_(message: str) -> str:
    """Mark a template for extraction into the catalogs; the bot translates it where it is shown."""
    return message


@dataclass(frozen=True)
class Notice:
    template: str
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.params)


class PlanFormatError(Exception):
    """The file is not a plan this importer can read; nothing has been written."""

    def __init__(self, template: str, **params: object):
        self.notice = Notice(template, params)
        super().__init__(str(self.notice))

    @property
    def template(self) -> str:
        return self.notice.template

    @property
    def params(self) -> dict[str, object]:
        return self.notice.params
