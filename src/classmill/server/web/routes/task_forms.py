"""The new-task form's advanced options: drawn from the library's option specs, read back into typed values.

A field holds the chosen preset's value until the visitor changes it; only values that differ from the
preset's go to the service as overrides, so the task records what the visitor chose, not the whole preset.
Bounds are not checked here: the service resolves the same TrainConfig as the CLI and names the field.
"""

from __future__ import annotations

from dataclasses import dataclass

OPTION_PREFIX = "opt_"
SEPARATE_OPTIONS = frozenset({"select_metric"})  # a field of its own on the page, not among the advanced ones


@dataclass(frozen=True)
class FormOptions:
    overrides: dict  # option -> typed value, only those that differ from the preset's
    values: dict  # option -> the text the visitor sent, to show again
    errors: dict  # option -> why its text is not a value of its type


def advanced_specs(specs: list[dict]) -> list[dict]:
    return [spec for spec in specs if spec["name"] not in SEPARATE_OPTIONS]


def field_text(value) -> str:
    """An option's value as its form field shows it (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_options(specs: list[dict], form, preset: str) -> FormOptions:
    """The advanced fields of a posted form (missing fields: the preset's value) as typed overrides."""
    overrides, values, errors = {}, {}, {}
    for spec in advanced_specs(specs):
        name = spec["name"]
        preset_value = spec["preset_defaults"].get(preset, spec["default"])
        if spec["type"] == "bool":
            # a checkbox sends nothing when off; the hidden "present" marker says the field was on the form
            if f"{OPTION_PREFIX}{name}__shown" not in form:
                continue
            value = form.get(f"{OPTION_PREFIX}{name}") == "true"
            values[name] = field_text(value)
        else:
            text = str(form.get(f"{OPTION_PREFIX}{name}", field_text(preset_value))).strip()
            values[name] = text
            try:
                value = _typed(spec, text)
            except ValueError:
                errors[name] = spec["type"]
                continue
        if value != preset_value:
            overrides[name] = value
    return FormOptions(overrides, values, errors)


def _typed(spec: dict, text: str):
    if text == "":
        if spec["nullable"]:
            return None
        raise ValueError("empty")
    if spec["type"] == "int":
        return int(text)
    if spec["type"] == "float":
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not finite")
        return value
    return text
