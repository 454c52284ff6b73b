"""A <select> rendered in Python. Django renders every <option> through a template; on the
numbers filter form (~20 selects, ~300 options) that cost more than the page's SQL
(tests/perf/bench.py), so the filter forms use this instead. Same HTML, same escaping."""

from __future__ import annotations

from django import forms
from django_filters import fields as df_fields
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        attrs = {"name": name, **self.build_attrs(self.attrs, attrs)}
        selected = {"" if value is None else str(value)}
        options = []
        for option_value, label in self.choices:
            option_value = "" if option_value is None else str(getattr(option_value, "value", option_value))
            # What format_html would build, without its per-call overhead (~300 options a page).
            options.append(f'<option value="{conditional_escape(option_value)}"'
                           f'{" selected" if option_value in selected else ""}>{conditional_escape(label)}</option>')
        return format_html(
            "<select{}>{}</select>",
            mark_safe("".join(format_html(' {}="{}"', k, v) for k, v in attrs.items() if v is not None and v is not False)),
            mark_safe("".join(options)),
        )


class _PlainQueryIterator(forms.models.ModelChoiceIterator):
    """Reads the choices with one ordinary SELECT. Django's iterator() is a server-side cursor on
    PostgreSQL (DECLARE ... WITH HOLD, FETCH, CLOSE): three round trips per dropdown, for tables
    of a few hundred rows at most."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class PlainQueryChoiceIterator(df_fields.ModelChoiceIterator, _PlainQueryIterator):
    """django-filter's iterator (the "(empty)" choice) over _PlainQueryIterator."""


class FastModelChoiceField(df_fields.ModelChoiceField):
    iterator = PlainQueryChoiceIterator
