from django import forms

from numbersadmin.inventory.widgets import FastSelect


def test_fast_select_renders_like_django_select():
    choices = [("", "---------"), ("GB", "United Kingdom (GB)"), ("X<", 'Tricky "<b>"')]

    class F(forms.Form):
        country = forms.ChoiceField(choices=choices, required=False, widget=FastSelect)

    html = str(F({"country": "GB"})["country"])
    assert html.startswith('<select name="country" id="id_country">')
    assert '<option value="GB" selected>United Kingdom (GB)</option>' in html
    assert '<option value="X&lt;">Tricky &quot;&lt;b&gt;&quot;</option>' in html
    assert html.count(" selected") == 1


import copy  # noqa: E402
import datetime as dt  # noqa: E402

import pytest  # noqa: E402
from django.urls import reverse, set_script_prefix  # noqa: E402
from django.utils import html as django_html  # noqa: E402
from django.utils.safestring import mark_safe  # noqa: E402
from django.utils.translation import gettext_lazy  # noqa: E402

from numbersadmin.inventory import widgets  # noqa: E402
from numbersadmin.inventory.models import pk_url  # noqa: E402

VALUES = ['plain', '<script>"x" & \'y\'</script>', mark_safe("<b>kept</b>"), gettext_lazy("Any"), 42, None,
          dt.date(2026, 12, 4), "", "ünïcode <é>"]


@pytest.mark.parametrize("value", VALUES)
def test_fast_escape_matches_django(value):
    assert widgets.conditional_escape(value) == django_html.conditional_escape(value)
    template = '<a href="{}" title="{t}">{}</a>'
    assert widgets.format_html(template, value, value, t=value) == django_html.format_html(template, value, value, t=value)
    assert hasattr(widgets.format_html("{}", value), "__html__")  # safe: not escaped again by a template


@pytest.mark.parametrize("widget,value", [
    (forms.TextInput(attrs={"placeholder": 'a "q" <b>', "autofocus": True, "disabled": False}), '<x>&"'),
    (forms.HiddenInput(), None), (forms.HiddenInput(), 5), (forms.DateInput(attrs={"type": "date"}), "2026-01-02"),
    (forms.CheckboxInput(), True), (forms.CheckboxInput(), False), (forms.NumberInput(attrs={"min": 0}), 0),
    (forms.TextInput(), mark_safe("<i>")), (forms.TextInput(), ""),
])
def test_inputs_rendered_in_python_match_django_templates(widget, value):
    class F(forms.Form):
        field = forms.CharField(widget=widget, required=False)

    want = str(F({"field": value})["field"])
    widgets.render_inputs_in_python(F)
    assert type(F.base_fields["field"].widget) is not type(widget), "not swapped"
    assert str(F({"field": value})["field"]) == want


def test_fast_choice_field_copies_share_choices_but_not_state():
    field = widgets.FastChoiceField(choices=[("GB", "United Kingdom (GB)"), ("DE", "Germany (DE)")], required=False,
                                    null_label="(empty)")
    twin = copy.deepcopy(field)
    assert twin._choices is not field._choices and twin._choices.choices is field._choices.choices  # shared list
    assert twin._choices.field is twin and list(twin.choices) == list(field.choices)
    twin.empty_label, twin.widget.attrs["class"] = "Pick one", "x"  # a form's own copy changes; the original keeps its own
    assert list(twin.choices)[0] == ("", "Pick one") and list(field.choices)[0] != ("", "Pick one")
    assert "class" not in field.widget.attrs
    assert twin.clean("DE") == "DE"
    with pytest.raises(forms.ValidationError):
        twin.clean("FR")


@pytest.mark.django_db
def test_pk_url_is_reverse_under_any_script_prefix():
    for name in ("number_detail", "caller_id_detail", "owner_detail", "location_detail", "trunk_detail",
                 "trunk_group_detail", "group_detail", "account_detail"):
        assert pk_url(name, 7) == reverse(name, args=[7])
    try:
        set_script_prefix("/inventory/")
        assert pk_url("number_detail", 12) == reverse("number_detail", args=[12])
        assert pk_url("number_detail", 12).startswith("/inventory/")
    finally:
        set_script_prefix("/")
    assert pk_url("number_detail", 12) == reverse("number_detail", args=[12]) and not pk_url("number_detail", 3).startswith("/inventory/")
