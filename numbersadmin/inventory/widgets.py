"""HTML built in Python for the list pages' hot paths: a <select> (Django renders every <option>
through a template; on the numbers filter form, ~20 selects and ~300 options, that cost more than
the page's SQL, tests/perf/bench.py), choice fields that share their choice lists instead of
deep-copying them for every form, and an escape without keep_lazy's per-call checks (a page
escapes ~1,000 values). Same HTML, same escaping."""

from __future__ import annotations

import copy
import datetime as dt
import html

from django import forms
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django_filters import fields as df_fields

from . import sqlcache


_PLAIN = frozenset({int, dt.date})


def conditional_escape(text) -> str:
    """django.utils.html.conditional_escape without keep_lazy's check of every argument. Same
    output: lazy text is resolved, ``__html__`` is trusted, anything else is html.escape(str())."""
    if type(text) in _PLAIN:  # digits (and "-"): nothing to escape, ~half of a table's cells
        return str(text)
    if isinstance(text, Promise):
        text = str(text)
    as_html = getattr(text, "__html__", None)
    return as_html() if as_html is not None else html.escape(str(text))


def format_html(template: str, *args, **kwargs) -> SafeString:
    """django.utils.html.format_html with the escape above."""
    return SafeString(template.format(*map(conditional_escape, args),
                                      **{k: conditional_escape(v) for k, v in kwargs.items()}))


def labelled_fields(fields) -> SafeString:
    """``<div class="field"><label>..</label><widget></div>`` per bound field: the filter form's
    rows, built here rather than by a template loop (three lookups and a render per field)."""
    return mark_safe("".join(f'<div class="field"><label for="{conditional_escape(f.id_for_label)}">'
                             f'{conditional_escape(f.label)}</label>{conditional_escape(f)}</div>' for f in fields))


def plain_fields(fields) -> SafeString:
    """The hidden inputs, one after another."""
    return mark_safe("".join(conditional_escape(f) for f in fields))


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
        key = getattr(self.field, "choices_key", None)
        queryset = self.queryset
        # A key names the queryset's whole shape (filters.FastFilterSet): its SQL is kept (sqlcache).
        objs = sqlcache.rows(queryset.model, key, queryset.all) if key else queryset.all()
        for obj in objs:
            yield self.choice(obj)


class PlainQueryChoiceIterator(df_fields.ModelChoiceIterator, _PlainQueryIterator):
    """django-filter's iterator (the "(empty)" choice) over _PlainQueryIterator."""


class FastModelChoiceField(df_fields.ModelChoiceField):
    iterator = PlainQueryChoiceIterator

    def __init__(self, *args, choices_key: tuple | None = None, **kwargs):
        self.choices_key = choices_key  # set: the choices' SQL is kept under this key (sqlcache)
        super().__init__(*args, **kwargs)


class FastChoiceField(df_fields.ChoiceField):
    """django-filter's ChoiceField whose copies share the choice list. Every FilterSet's form
    deep-copies its fields, and the numbers form's country, region and city lists (~300 tuples
    of strings, never changed in place) were most of that copying."""

    def __deepcopy__(self, memo):
        result = forms.Field.__deepcopy__(self, memo)  # the widget, messages and validators, as Django copies them
        result._choices = copy.copy(self._choices)  # the iterator, bound to the copy; the list shared
        result._choices.field = result
        return result


# Widgets whose Django template is only "django/forms/widgets/input.html" (file inputs aside).
_INPUT_TEMPLATES = {f"django/forms/widgets/{name}.html" for name in (
    "checkbox", "color", "date", "datetime", "email", "hidden", "number", "password", "search", "tel", "text",
    "time", "url")}


class _PythonInput:
    """input.html and attrs.html written in Python: a filter form renders ~20 inputs (hidden
    "is not" twins, search, dates), each a template render in Django."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        out = [f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"']
        if widget["value"] is not None:
            out.append(f' value="{conditional_escape(widget["value"])}"')
        for key, val in widget["attrs"].items():
            if val is not False:
                out.append(f" {conditional_escape(key)}" if val is True else f' {conditional_escape(key)}="{conditional_escape(val)}"')
        out.append(">")
        return mark_safe("".join(out))


_PYTHON_INPUTS: dict[type, type] = {}


def render_inputs_in_python(form_class) -> None:
    """Give the form class's plain <input> widgets the Python rendering above (same HTML)."""
    for field in form_class.base_fields.values():
        cls = type(field.widget)
        if (isinstance(field.widget, forms.widgets.Input) and not isinstance(field.widget, forms.FileInput)
                and field.widget.template_name in _INPUT_TEMPLATES and "render" not in vars(cls)):
            fast = _PYTHON_INPUTS.get(cls)
            if fast is None:
                fast = _PYTHON_INPUTS[cls] = type(cls.__name__, (_PythonInput, cls), {})
            field.widget.__class__ = fast
