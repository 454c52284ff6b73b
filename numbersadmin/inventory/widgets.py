"""A <select> rendered in Python. Django renders every <option> through a template; on the
numbers filter form (~20 selects, ~300 options) that cost more than the page's SQL
(tests/perf/bench.py), so the filter forms use this instead. Same HTML, same escaping."""

from __future__ import annotations

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        attrs = {"name": name, **self.build_attrs(self.attrs, attrs)}
        selected = {"" if value is None else str(value)}
        options = []
        for option_value, label in self.choices:
            option_value = "" if option_value is None else str(getattr(option_value, "value", option_value))
            options.append((option_value, mark_safe(" selected") if option_value in selected else "", label))
        return format_html(
            "<select{}>{}</select>",
            mark_safe("".join(format_html(' {}="{}"', k, v) for k, v in attrs.items() if v is not None and v is not False)),
            format_html_join("", '<option value="{}"{}>{}</option>', options),
        )
