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
