from __future__ import annotations

from django import forms

from jobs.api.serializers import MAX_SEED
from pipeline.audio_io import ACCEPTED_DESCRIPTION, ACCEPTED_EXTENSIONS
from pipeline.types import OUTPUT_FORMATS, STYLES


class UploadForm(forms.Form):
    """The upload page's options; the file itself is judged by jobs.validators."""

    file = forms.FileField(
        label="Song",
        required=False,  # a missing file gets the validator's friendlier message
        help_text=f"{ACCEPTED_DESCRIPTION}.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS + ("audio/*",))}),
    )
    style = forms.ChoiceField(
        choices=[(name, name.capitalize()) for name in STYLES], initial="heavy", widget=forms.RadioSelect
    )
    intensity = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        initial=0.7,
        help_text="Low keeps more of the original song; high goes all in.",
        widget=forms.NumberInput(attrs={"type": "range", "min": "0", "max": "1", "step": "0.05"}),
    )
    output_format = forms.ChoiceField(
        label="Download format", choices=[(f, f.upper()) for f in OUTPUT_FORMATS], initial="wav"
    )
    keep_vocals = forms.BooleanField(label="Keep the original vocals", required=False, initial=True)
    seed = forms.IntegerField(
        min_value=0, max_value=MAX_SEED, required=False, initial=0, help_text="Change it for another take."
    )

    def style_options(self) -> list[dict[str, object]]:
        """Each style preset with its one-line description, for the picker."""
        chosen = self["style"].value() or "heavy"
        return [
            {"value": name, "label": name.capitalize(), "description": text, "checked": name == chosen}
            for name, text in STYLES.items()
        ]

    def options(self) -> dict[str, object]:
        data = self.cleaned_data
        return {
            "style": data["style"],
            "intensity": float(data["intensity"]),
            "output_format": data["output_format"],
            "keep_vocals": bool(data["keep_vocals"]),
            "seed": int(data["seed"] or 0),
        }
