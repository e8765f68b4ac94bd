"""A choice field whose refusal names the valid choices, so a caller can fix the request from the error
alone: ``style: "polka" is not a valid choice; choose heavy, doom, ...``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ListedChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            choices = ", ".join(self.choice_strings_to_values)
            raise serializers.ValidationError(
                f'"{data}" is not a valid choice; choose {choices}.', code="invalid_choice"
            ) from None
