from __future__ import annotations

from django import forms

from jobs import separators
from jobs.models import MAX_SEED, Job
from pipeline import (
    ACCEPTED_DESCRIPTION,
    ACCEPTED_EXTENSIONS,
    DEFAULT_OPTIONS,
    FEELS,
    OUTPUT_FORMATS,
    SEPARATORS,
    STYLES,
)

FEEL_LABELS = {"auto": "Auto", "half": "Half time", "normal": "As the song", "double": "Double time"}


class PlayingOptionsForm(forms.Form):
    """How the band plays the song: style, intensity and tempo feel (the upload and "Try another style")."""

    style = forms.ChoiceField(
        choices=[(name, name.capitalize()) for name in STYLES],
        initial=DEFAULT_OPTIONS.style,
        widget=forms.RadioSelect,
    )
    intensity = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        initial=DEFAULT_OPTIONS.intensity,
        help_text="Low keeps more of the original song; high goes all in.",
        widget=forms.NumberInput(attrs={"type": "range", "min": "0", "max": "1", "step": "0.05"}),
    )
    feel = forms.ChoiceField(
        label="Tempo feel",
        choices=[(name, FEEL_LABELS.get(name, name.capitalize())) for name in FEELS],
        initial=DEFAULT_OPTIONS.feel,
        required=False,  # left out: the default
        widget=forms.RadioSelect,
    )

    def style_options(self) -> list[dict[str, object]]:
        """Each style preset with its one-line description, for the picker."""
        chosen = self["style"].value() or DEFAULT_OPTIONS.style
        return [
            {"value": name, "label": name.capitalize(), "description": text, "checked": name == chosen}
            for name, text in STYLES.items()
        ]

    def feel_options(self) -> list[dict[str, object]]:
        """Each tempo feel with its description, for the picker."""
        chosen = self["feel"].value() or DEFAULT_OPTIONS.feel
        return [
            {
                "value": name,
                "label": FEEL_LABELS.get(name, name),
                "description": text,
                "checked": name == chosen,
            }
            for name, text in FEELS.items()
        ]

    def playing_options(self) -> dict[str, object]:
        data = self.cleaned_data
        return {
            "style": data["style"],
            "intensity": float(data["intensity"]),
            "feel": data.get("feel") or DEFAULT_OPTIONS.feel,
        }


class UploadForm(PlayingOptionsForm):
    """The upload page's options; the file itself is judged by jobs.validators."""

    file = forms.FileField(
        label="Song",
        required=False,  # a missing file gets the validator's friendlier message
        allow_empty_file=True,  # and so does an empty one (jobs.validators: EMPTY_FILE)
        help_text=f"{ACCEPTED_DESCRIPTION}.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS + ("audio/*",))}),
    )
    output_format = forms.ChoiceField(
        label="Download format",
        choices=[(name, row.label) for name, row in OUTPUT_FORMATS.items()],
        initial=DEFAULT_OPTIONS.output_format,
    )
    keep_vocals = forms.BooleanField(
        label="Keep the original vocals", required=False, initial=DEFAULT_OPTIONS.keep_vocals
    )
    seed = forms.IntegerField(
        min_value=0,
        max_value=MAX_SEED,
        required=False,
        initial=DEFAULT_OPTIONS.seed,
        help_text="Change it for another take.",
    )
    separator = forms.ChoiceField(
        label="Separation",
        choices=[(name, name) for name in SEPARATORS],
        initial=DEFAULT_OPTIONS.separator,
        required=False,  # left out: auto
        widget=forms.RadioSelect,
    )

    def clean_separator(self) -> str:
        method = self.cleaned_data.get("separator") or DEFAULT_OPTIONS.separator
        refused = separators.refusal(method)
        if refused:
            raise forms.ValidationError(refused)
        return method

    def separator_options(self) -> list[dict[str, object]]:
        """Each separator as the page explains it (unavailable ones disabled, with the reason)."""
        return separators.page_choices(self["separator"].value())

    def options(self) -> dict[str, object]:
        data = self.cleaned_data
        return {
            **self.playing_options(),
            "output_format": data["output_format"],
            "keep_vocals": bool(data["keep_vocals"]),
            "seed": DEFAULT_OPTIONS.seed if data["seed"] is None else int(data["seed"]),
            "separator": data.get("separator") or DEFAULT_OPTIONS.separator,
        }


class RemixForm(PlayingOptionsForm):
    """Try another style on a finished remix: the rest of the options stay the source job's."""

    @classmethod
    def for_job(cls, job: Job) -> RemixForm:
        """The form as it first shows: the source job's own style, intensity and feel."""
        return cls(initial={"style": job.style, "intensity": job.intensity, "feel": job.feel})
