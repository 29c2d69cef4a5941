"""What a browser sends back when a form is submitted untouched: read from the page the
server rendered, as the HTML standard says (the selected option, or the first one; a
checkbox only when checked; a textarea without the newline that follows its start tag,
its line breaks sent as CR LF; nothing from a <template> or a disabled control)."""
from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

SKIPPED_INPUTS = {"submit", "button", "reset", "image", "file"}


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.template_depth = form_id, False, 0
        self.fields: list[list] = []  # [name, value] in document order
        self.select: dict | None = None
        self.textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if tag == "template":
            self.template_depth += 1
        if not self.inside or self.template_depth or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type", "text") not in SKIPPED_INPUTS:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append([name, a.get("value", "on" if a.get("type") == "checkbox" else "")])
        elif tag == "select" and name:
            self.select = {"field": [name, None], "first": None}
            self.fields.append(self.select["field"])
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            if self.select["first"] is None:
                self.select["first"] = value
            if "selected" in a:
                self.select["field"][1] = value
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
            self.fields.append(self.textarea)

    def handle_endtag(self, tag):
        if tag == "template":
            self.template_depth -= 1
        elif tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            field = self.select["field"]
            if field[1] is None:
                field[1] = self.select["first"] or ""
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = self.textarea[1]
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            self.textarea[1] = text.replace("\r\n", "\n").replace("\n", "\r\n")
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data


def form_data(page: str, form_id: str) -> MultiDict:
    reader = _FormReader(form_id)
    reader.feed(page)
    assert reader.fields, f"no form #{form_id} on the page"
    return MultiDict([(name, value) for name, value in reader.fields])
