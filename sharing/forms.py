from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

EXPIRY_CHOICES = [
    ("never", "Never"),
    ("1h", "1 hour"),
    ("1d", "1 day"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("date", "On a date"),
]
MAX_EXPIRY_DAY = date(9998, 12, 31)
EXPIRY_DURATIONS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


class ShareForm(forms.Form):
    expiry = forms.ChoiceField(
        label="Link expires", choices=EXPIRY_CHOICES, initial="never", widget=forms.RadioSelect
    )
    expires_on = forms.DateField(
        label="Expiry date",
        required=False,
        help_text="The link works until the end of this day.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    show_model_names = forms.BooleanField(label="Show model names", required=False, initial=True)
    include_context = forms.BooleanField(
        label="Include the conversation before this message", required=False, initial=True
    )

    def clean(self):
        data = super().clean()
        if data.get("expiry") == "date":
            expires_on = data.get("expires_on")
            if expires_on is None:
                self.add_error("expires_on", "Pick the day the link should stop working.")
            elif expires_on < timezone.localdate():
                self.add_error("expires_on", "Pick today or a later day.")
            elif expires_on > MAX_EXPIRY_DAY:
                # Past this, the day after (and its time zone) overflows.
                self.add_error("expires_on", f"Pick a day up to {MAX_EXPIRY_DAY}.")
        return data

    def expiry_kwargs(self) -> dict:
        """Return the expires_in/expires_at arguments for share_create."""
        choice = self.cleaned_data["expiry"]
        if choice in EXPIRY_DURATIONS:
            return {"expires_in": EXPIRY_DURATIONS[choice]}
        if choice == "date":
            day_after = self.cleaned_data["expires_on"] + timedelta(days=1)
            return {"expires_at": timezone.make_aware(datetime.combine(day_after, time.min))}
        return {}
