"""The EmailComposer's twin: renders every value as a line, and keeps what it was asked for."""

from __future__ import annotations

from collections.abc import Mapping

from customercase.domain.mail import Rendered


class FakeComposer:
    """`composed` lists (kind, values) in order; the text is one `name: value` line per value."""

    def __init__(self) -> None:
        self.composed: list[tuple[str, dict[str, str]]] = []

    def compose(self, kind: str, values: Mapping[str, str]) -> Rendered:
        self.composed.append((kind, dict(values)))
        text = "\n".join(f"{name}: {value}" for name, value in sorted(values.items()))
        return Rendered(f"{kind}: {values.get('idea_summary', '')}", text, f"<pre>{text}</pre>")
