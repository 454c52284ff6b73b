from django import forms


class IgnoreForm(forms.Form):
    reason = forms.CharField(max_length=500, strip=True, label="Reason",
                             widget=forms.TextInput(attrs={"placeholder": "Why this is fine (required)"}),
                             error_messages={"required": "Say why this finding is ignored."})
