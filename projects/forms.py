from django import forms

from projects.services import DESCRIPTION_MAX_CHARS, INSTRUCTIONS_MAX_CHARS, TITLE_MAX_CHARS


class ProjectForm(forms.Form):
    title = forms.CharField(label="Name", max_length=TITLE_MAX_CHARS)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=DESCRIPTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    instructions = forms.CharField(
        label="Instructions",
        required=False,
        max_length=INSTRUCTIONS_MAX_CHARS,
        help_text="Sent to the assistant before every conversation in this project.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class ProjectDeleteForm(forms.Form):
    conversations = forms.ChoiceField(
        label="Its conversations",
        choices=[
            ("keep", "Keep them, outside any project"),
            ("delete", "Delete them too"),
        ],
        initial="keep",
        widget=forms.RadioSelect,
    )
