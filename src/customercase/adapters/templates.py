"""Email bodies from Jinja2 templates (src/customercase/templates/email): text and HTML.

HTML templates are autoescaped, so a comment or summary can never become markup; text templates
are not (a plain-text body has nothing to escape). The subject is the text template's `subject`
block, flattened to one line by the service before it becomes a header.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2

from customercase.domain.mail import Rendered


class JinjaEmailComposer:
    def __init__(self) -> None:
        loader = jinja2.PackageLoader("customercase", "templates/email")
        self._text = jinja2.Environment(
            loader=loader,
            autoescape=False,  # noqa: S701 - plain-text bodies, never HTML
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._html = jinja2.Environment(
            loader=loader, autoescape=True, undefined=jinja2.StrictUndefined
        )

    def compose(self, kind: str, values: Mapping[str, str]) -> Rendered:
        text_template = self._text.get_template(f"{kind}.txt")
        context = {**_DEFAULTS, **values}
        subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
        text = text_template.render(context).strip() + "\n"
        html = self._html.get_template(f"{kind}.html").render({**context, "subject": subject})
        return Rendered(subject.strip(), text, html)


# Every name a template may use, so a message that lacks one still renders.
_DEFAULTS: dict[str, str] = dict.fromkeys(
    (
        "recipient_name",
        "actor_name",
        "idea_summary",
        "idea_url",
        "forum_name",
        "forum_url",
        "stop_watching_url",
        "reply_hint",
        "comment_body",
        "old_status",
        "new_status",
        "action_url",
        "access",
        "original_subject",
        "reason",
    ),
    "",
)
