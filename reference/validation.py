"""Request validation driven by the spec's request schemas, answering in zod's ``flatten()`` shape.

Limits, enums, defaults and error strings come from ``openapi/tixallo-v1.yaml``; only the wording
of the per-field messages (zod's) lives here, since the spec does not fix it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from tixallo_qa.core import spec
from tixallo_qa.reference.faults import FaultSet

# RFC 5322 dot-atom local part and a dotted hostname whose top label is not all digits: accepts
# what hypothesis' and schemathesis' email strategies generate, rejects what jsonschema rejects.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:{_LABEL}\.)+{_LABEL})", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)


def is_email(value: str) -> bool:
    """Whether ``value`` is an addr-spec we accept (dot-atom@hostname, local part <= 64)."""
    m = _EMAIL.fullmatch(value)
    if m is None or len(m.group(1)) > 64 or len(m.group(2)) > 253:
        return False
    return not m.group(2).rsplit(".", 1)[1].isdigit()


def _js_type(value: object) -> str:
    """The type name zod reports for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


@dataclass(frozen=True)
class FieldRule:
    """One string property of a request schema."""

    name: str
    required: bool
    min_length: int | None = None
    max_length: int | None = None
    email: bool = False
    enum: tuple[str, ...] | None = None
    default: str | None = None
    # Lenient readings, planted by faults only: enum ignoring case and spaces, numbers and
    # booleans taken as text, an email's display-name form.
    fold: bool = False
    coerce: bool = False
    display_name: bool = False
    # Red-team faults: lengths in UTF-8 bytes, a stricter email reading, a trimmed minimum.
    count_bytes: bool = False
    email_strict: str | None = None  # "lower" or "two-labels"
    trim_min: bool = False

    def prepare(self, value: object) -> object:
        """The value as a lenient parser would read it (unchanged unless a fault is planted)."""
        if self.coerce and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if self.coerce and isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and self.fold and self.enum is not None:
            return value.strip().lower()
        if isinstance(value, str) and self.display_name:
            inside = re.fullmatch(r"[^<>]*<([^<>]+)>\s*", value)
            return inside.group(1) if inside else value
        return value

    def _strict_email_ok(self, value: str) -> bool:
        """A planted stricter email reading: lower case only, or one dot in the domain."""
        if self.email_strict == "lower":
            return value == value.lower()
        if self.email_strict == "two-labels":
            return value.rpartition("@")[2].count(".") <= 1
        return True

    def check(self, value: str) -> list[str]:
        errors = []
        size = len(value.encode()) if self.count_bytes else len(value)
        short = len(value.strip()) if self.trim_min else len(value)
        if self.min_length is not None and short < self.min_length:
            errors.append(f"String must contain at least {self.min_length} character(s)")
        if self.max_length is not None and size > self.max_length:
            errors.append(f"String must contain at most {self.max_length} character(s)")
        if self.email and not (is_email(value) and self._strict_email_ok(value)):
            errors.append("Invalid email")
        if self.enum is not None and value not in self.enum:
            expected = " | ".join(f"'{e}'" for e in self.enum)
            errors.append(f"Invalid enum value. Expected {expected}, received '{value}'")
        return errors


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return spec.component(ref.rsplit("/", 1)[1])
    return schema


def rules_for(component: str) -> tuple[FieldRule, ...]:
    """The field rules of a request schema in ``components/schemas``."""
    schema = spec.component(component)
    required = set(schema.get("required", []))
    rules = []
    for name, prop in schema["properties"].items():
        prop = _resolve(prop)
        if prop.get("type") != "string":
            raise ValueError(f"{component}.{name}: only string properties are supported")
        rules.append(
            FieldRule(
                name=name,
                required=name in required,
                min_length=prop.get("minLength"),
                max_length=prop.get("maxLength"),
                email=prop.get("format") == "email",
                enum=tuple(prop["enum"]) if "enum" in prop else None,
                default=prop.get("default"),
            )
        )
    return tuple(rules)


@dataclass
class Invalid(Exception):
    """A failed validation, as zod's ``flatten()``: field errors and form errors."""

    field_errors: dict[str, list[str]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)


class BodyValidator:
    """Validates one request body against its spec schema; unknown fields are dropped."""

    def __init__(self, rules: tuple[FieldRule, ...]) -> None:
        self.rules = rules

    def __call__(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid(form_errors=[f"Expected object, received {_js_type(body)}"])
        clean: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for rule in self.rules:
            if rule.name not in body:
                if rule.required:
                    errors[rule.name] = ["Required"]
                elif rule.default is not None:
                    clean[rule.name] = rule.default
                continue
            value = rule.prepare(body[rule.name])
            if not isinstance(value, str):
                errors[rule.name] = [f"Expected string, received {_js_type(value)}"]
                continue
            problems = rule.check(value)
            if problems:
                errors[rule.name] = problems
            else:
                clean[rule.name] = value
        if errors:
            raise Invalid(field_errors=errors)
        return clean


@dataclass(frozen=True)
class LimitRule:
    """The ``limit`` query parameter: bounds and default from the spec."""

    minimum: int
    maximum: int
    default: int
    clamp: bool = False  # only the validation-limit-bounds fault sets it
    lenient: str | None = None  # "parse-int", "number" or "int": a fault's lenient reading

    def _lenient(self, raw: str) -> str | None:
        """``raw`` as the planted lenient parser reads it, as ASCII digits (None: it reads nothing)."""
        if self.lenient == "parse-int":
            # JavaScript's parseInt: leading space and sign, then digits; the rest is ignored.
            m = re.match(r"\s*([+-]?[0-9]+)", raw)
            return m.group(1) if m else None
        if self.lenient == "number":
            # JavaScript's Number(): "" is 0 (so the default here), hex, decimals and exponents.
            text = raw.strip()
            if not text:
                return str(self.default)
            try:
                number = int(text, 16) if text.lower().startswith("0x") else float(text)
            except ValueError:
                return None
            if "_" in text or not math.isfinite(number) or number != int(number):
                return None
            return str(int(number))
        if self.lenient == "int":
            # Python's int(): other scripts' digits, underscores, surrounding space, a sign.
            try:
                return str(int(raw))
            except ValueError:
                return None
        return None

    def parse(self, raw: str | None) -> int:
        if raw is None:
            return self.default
        read = self._lenient(raw) if self.lenient else None
        if read is not None:
            raw = read
        if not _INTEGER.fullmatch(raw):
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            received = "float" if math.isfinite(number) else "nan"
            expected = "integer" if received == "float" else "number"
            raise Invalid(field_errors={"limit": [f"Expected {expected}, received {received}"]})
        value = int(raw)
        if self.clamp:
            return min(max(value, self.minimum), self.maximum)
        if value < self.minimum:
            raise Invalid(
                field_errors={"limit": [f"Number must be greater than or equal to {self.minimum}"]}
            )
        if value > self.maximum:
            raise Invalid(
                field_errors={"limit": [f"Number must be less than or equal to {self.maximum}"]}
            )
        return value


@dataclass(frozen=True)
class ErrorStrings:
    """The documented ``error`` strings, read from the spec's error schemas and examples."""

    unauthorized: str
    not_found: str
    merged: str
    invalid_input: str
    rate_limited: str
    invalid_json: str


def error_strings() -> ErrorStrings:
    def const(name: str) -> str:
        return str(spec.component(name)["properties"]["error"]["const"])

    return ErrorStrings(
        unauthorized=const("UnauthorizedError"),
        not_found=const("NotFoundError"),
        merged=const("MergedError"),
        invalid_input=const("ValidationError"),
        rate_limited=const("RateLimitError"),
        invalid_json=const("MalformedJsonError"),
    )


@dataclass(frozen=True)
class Validators:
    """Everything request validation needs, built once at start-up (faults applied here)."""

    create_ticket: BodyValidator
    add_message: BodyValidator
    limit: LimitRule
    errors: ErrorStrings


def _tweak(rules: tuple[FieldRule, ...], name: str, **changes: Any) -> tuple[FieldRule, ...]:
    return tuple(replace(r, **changes) if r.name == name else r for r in rules)


def build_validators(faults: FaultSet | None = None) -> Validators:
    """Validators from the spec, with the validation faults of ``faults`` planted."""
    faults = faults or FaultSet()
    create = rules_for("CreateTicketRequest")
    message = rules_for("AddMessageRequest")

    def rule(rules: tuple[FieldRule, ...], name: str) -> FieldRule:
        return next(r for r in rules if r.name == name)

    if faults.on("validation-subject-301-accepted"):
        create = _tweak(create, "subject", max_length=(rule(create, "subject").max_length or 0) + 1)
    if faults.on("validation-subject-empty-accepted"):
        create = _tweak(create, "subject", min_length=None)
    if faults.on("validation-description-limit"):
        create = _tweak(create, "description", max_length=None)
    if faults.on("validation-email-unchecked"):
        create = _tweak(create, "customer_email", email=False)
    if faults.on("validation-email-max-length"):
        create = _tweak(create, "customer_email", max_length=None)
    if faults.on("validation-customer-name-limit"):
        create = _tweak(create, "customer_name", max_length=None)
    if faults.on("validation-priority-enum"):
        create = _tweak(create, "priority", enum=None)
    if faults.on("validation-priority-default"):
        create = _tweak(create, "priority", default="low")
    if faults.on("validation-required-missing"):
        create = _tweak(create, "customer_email", required=False)
    if faults.on("validation-body-limit"):
        message = _tweak(message, "body", max_length=None)
    if faults.on("validation-body-empty-accepted"):
        message = _tweak(message, "body", min_length=None)
    limit = spec.limit_parameter()
    limit_rule = LimitRule(int(limit["minimum"]), int(limit["maximum"]), int(limit["default"]))
    if faults.on("validation-limit-default"):
        limit_rule = replace(limit_rule, default=10)
    if faults.on("validation-limit-bounds"):
        limit_rule = replace(limit_rule, clamp=True)
    if faults.on("validation-limit-parse-int"):
        limit_rule = replace(limit_rule, lenient="parse-int")
    if faults.on("validation-limit-number"):
        limit_rule = replace(limit_rule, lenient="number")
    if faults.on("validation-limit-unicode"):
        limit_rule = replace(limit_rule, lenient="int")
    if faults.on("validation-priority-case"):
        create = _tweak(create, "priority", fold=True)
    if faults.on("validation-name-coerced"):
        create = _tweak(create, "customer_name", coerce=True)
    if faults.on("validation-email-display-name"):
        create = _tweak(create, "customer_email", display_name=True)
    if faults.on("validation-length-bytes"):
        # 1: the long texts (description, message body); 2: the short ones (subject, name).
        if faults.param("validation-length-bytes", 1) == 2:
            create = _tweak(create, "subject", count_bytes=True)
            create = _tweak(create, "customer_name", count_bytes=True)
        else:
            create = _tweak(create, "description", count_bytes=True)
            message = _tweak(message, "body", count_bytes=True)
    if faults.on("validation-description-max-rejected"):
        limit_d = rule(create, "description").max_length or 0
        create = _tweak(create, "description", max_length=limit_d - 1)
    if faults.on("validation-name-max-rejected"):
        limit_n = rule(create, "customer_name").max_length or 0
        create = _tweak(create, "customer_name", max_length=limit_n - 1)
    if faults.on("validation-email-uppercase-rejected"):
        create = _tweak(create, "customer_email", email_strict="lower")
    if faults.on("validation-email-subdomain-rejected"):
        create = _tweak(create, "customer_email", email_strict="two-labels")
    if faults.on("validation-blank-rejected"):
        create = _tweak(create, "subject", trim_min=True)
        message = _tweak(message, "body", trim_min=True)
    return Validators(BodyValidator(create), BodyValidator(message), limit_rule, error_strings())
