"""The project settings form: text in, typed settings out, and errors named by label."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import FieldError, InvalidInput, WorkbenchError
from ...services.projects import check_settings

# Form field -> the label the page shows; service errors use the same field names.
LABELS = {
    "name": "Name",
    "rubric": "Rubric",
    "overlap": "Overlap",
    "pin_version": "Pinned version",
    "gold_rate": "Gold rate",
    "qualification_items": "Qualification",
    "min_accuracy": "Minimum accuracy",
    "repeat_rate": "Repeat rate",
    "silent_gold": "Silent gold",
    "member_email": "Member e-mail",
    "count": "Honeypots to add",
    "slug": "Slug",
    "title": "Title",
    "source": "Start from",
}
DEFAULTS = {
    "name": "",
    "rubric": "",
    "overlap": "3",
    "pin_version": "",
    "gold_rate": "0",
    "qualification_items": "0",
    "min_accuracy": "0",
    "repeat_rate": "0",
    "silent_gold": "",
}
_INTEGERS = ("overlap", "qualification_items")
_SHARES = ("gold_rate", "min_accuracy", "repeat_rate")


@dataclass(frozen=True)
class Form:
    """Values as typed and the errors found, by field (``""`` for the form as a whole)."""

    values: Mapping[str, str]
    errors: tuple[FieldError, ...] = ()

    def errors_for(self, name: str) -> list[str]:
        return [e.message for e in self.errors if e.location == name]

    @property
    def summary(self) -> list[str]:
        """Every error, each named by its field's label."""
        return [f"{LABELS[e.location]}: {e.message}" if e.location in LABELS else e.message for e in self.errors]

    def with_error(self, exc: WorkbenchError) -> Form:
        found = exc.errors if isinstance(exc, InvalidInput) and exc.errors else (FieldError("", str(exc)),)
        return Form(self.values, self.errors + tuple(found))


@dataclass
class _Parsed:
    settings: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def settings_form(raw: Mapping[str, str], defaults: Mapping[str, str] = DEFAULTS) -> tuple[Form, dict[str, Any]]:
    """The form as typed, and the keyword arguments of ``create_project``/``update_project``."""
    values = {key: raw.get(key, "" if key == "silent_gold" else default).strip() for key, default in defaults.items()}
    parsed = _Parsed()
    for name in _INTEGERS:
        parsed.settings[name] = _number(int, name, values[name], parsed.errors, "a whole number")
    for name in _SHARES:
        parsed.settings[name] = _number(float, name, values[name], parsed.errors, "a number such as 0.1")
    pin = values["pin_version"]
    parsed.settings["pin_version"] = (
        _number(int, "pin_version", pin, parsed.errors, "a version number") if pin else None
    )
    kwargs = {
        "name": values["name"],
        "overlap_k": parsed.settings["overlap"],
        "pin_version": parsed.settings["pin_version"],
        "gold_rate": parsed.settings["gold_rate"],
        "qualification_items": parsed.settings["qualification_items"],
        "qualification_min_accuracy": parsed.settings["min_accuracy"],
        "gold_feedback": not values["silent_gold"],
        "repeat_rate": parsed.settings["repeat_rate"],
    }
    if parsed.errors:  # report the service's findings on the other fields too
        try:
            check_settings(
                **{k: v for k, v in kwargs.items() if k not in ("pin_version", "gold_feedback")}, lease_minutes=1
            )
        except InvalidInput as exc:
            typed = {e.location for e in parsed.errors}
            parsed.errors += [e for e in exc.errors if e.location not in typed]
    return Form(values, tuple(parsed.errors)), kwargs


def _number(kind, name: str, text: str, errors: list[FieldError], wanted: str):
    try:
        return kind(text)
    except ValueError:
        errors.append(FieldError(name, f"give {wanted}, not {text!r}" if text else f"give {wanted}"))
        return kind(1)  # a valid stand-in, so the other fields are still checked


def project_values(project) -> dict[str, str]:
    """A stored project's settings as the form shows them."""
    return {
        "name": project.name,
        "rubric": project.rubric.slug,
        "overlap": str(project.overlap_k),
        "pin_version": str(project.pinned_version.number) if project.pinned_version else "",
        "gold_rate": f"{project.gold_rate:g}",
        "qualification_items": str(project.qualification_items),
        "min_accuracy": f"{project.qualification_min_accuracy:g}",
        "repeat_rate": f"{project.repeat_rate:g}",
        "silent_gold": "" if project.gold_feedback else "on",
    }
