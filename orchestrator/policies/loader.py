"""Loading `policies/*.yml`: the whole set loads or none does, and every problem is reported.

An admin fixing policies wants the full list at once, each problem with its file, its place in the
document (`steps[2].ensure.control`) and its line, so every file is read and validated before
anything is raised. A policy's version is the SHA-256 of its file's bytes: any edit, even to a
comment, is a new version, and every run records the version it ran.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from orchestrator.policies.errors import PolicyError, PolicyProblem, UnknownPolicyError
from orchestrator.policies.schema import (
    DEFER_CONSISTENCY_CHECKS,
    Location,
    Policy,
    consistency_problems,
    format_location,
)

POLICY_SUFFIX = ".yml"
SHORT_VERSION_LENGTH = 12


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with the file it came from and its version (SHA-256 of the bytes)."""

    policy: Policy
    path: Path
    version: str

    @property
    def short_version(self) -> str:
        """The first 12 hex digits of the version, for people and page footers."""
        return self.version[:SHORT_VERSION_LENGTH]


class PolicySet:
    """The policies of one directory, all valid, by id."""

    def __init__(self, directory: Path, policies: Mapping[str, LoadedPolicy]) -> None:
        self.directory = directory
        self._policies = dict(sorted(policies.items()))

    @property
    def ids(self) -> tuple[str, ...]:
        """The policy ids, sorted."""
        return tuple(self._policies)

    def get(self, policy_id: str) -> LoadedPolicy:
        """The policy with this id; UnknownPolicyError (listing the known ids) otherwise."""
        try:
            return self._policies[policy_id]
        except KeyError:
            raise UnknownPolicyError(policy_id, self.ids) from None

    def __iter__(self) -> Iterator[LoadedPolicy]:
        return iter(self._policies.values())

    def __len__(self) -> int:
        return len(self._policies)

    def __contains__(self, policy_id: object) -> bool:
        return policy_id in self._policies


def policy_version(content: bytes) -> str:
    """A policy file's version: the SHA-256 of its bytes, in hex."""
    return hashlib.sha256(content).hexdigest()


def load_policies(directory: Path) -> PolicySet:
    """Load every `*.yml` in `directory`, or raise one PolicyError listing every problem."""
    if not directory.is_dir():
        # Absolute: a relative default ("policies") says nothing of where it was looked for.
        raise PolicyError([PolicyProblem(directory.absolute(), "", "no such policy directory")])
    problems: list[PolicyProblem] = []
    validated: list[LoadedPolicy] = []
    for path in sorted(directory.glob("*.yaml")):
        problems.append(PolicyProblem(path, "", f"rename to {path.stem}{POLICY_SUFFIX}"))
    for path in sorted(directory.glob(f"*{POLICY_SUFFIX}")):
        policy, file_problems = _load_file(path)
        problems.extend(file_problems)
        if policy is not None:
            validated.append(policy)
    problems.extend(_duplicate_id_problems(validated))
    if not problems and not validated:  # a wrong OPTOUT_POLICIES_DIR would run nothing
        problems.append(
            PolicyProblem(directory.absolute(), "", f"no policy files (*{POLICY_SUFFIX}) here")
        )
    if problems:
        raise PolicyError(problems)
    return PolicySet(directory, {item.policy.id: item for item in validated})


def _load_file(path: Path) -> tuple[LoadedPolicy | None, list[PolicyProblem]]:
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except OSError as exc:
        return None, [PolicyProblem(path, "", f"cannot read the file: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        return None, [PolicyProblem(path, "", f"not UTF-8 text (byte {exc.start})")]
    try:
        root, data = _parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        return None, [_yaml_problem(path, exc)]
    except yaml.YAMLError as exc:
        return None, [PolicyProblem(path, "", f"YAML error: {exc}")]
    if not isinstance(data, dict):
        return None, [PolicyProblem(path, "", "the file must hold one mapping: a policy")]

    def problem(location: Location, reason: str) -> PolicyProblem:
        line = _line_of(root, location)
        return PolicyProblem(path, format_location(location), reason, line)

    problems = []
    policy_id = data.get("id")
    if isinstance(policy_id, str) and policy_id != path.stem:
        problems.append(
            problem(("id",), f"id {policy_id!r} must equal the file name {path.stem!r}")
        )
    try:
        policy = Policy.model_validate(data, context={DEFER_CONSISTENCY_CHECKS: True})
    except ValidationError as exc:
        problems += [problem(error["loc"], _reason(error)) for error in _root_causes(exc)]
        return None, problems
    problems += [problem(location, reason) for location, reason in consistency_problems(policy)]
    # Returned even with problems, so that a copied file is also reported as a duplicate id.
    return LoadedPolicy(policy=policy, path=path, version=policy_version(content)), problems


def _duplicate_id_problems(validated: list[LoadedPolicy]) -> Iterator[PolicyProblem]:
    paths_by_id: dict[str, list[Path]] = {}
    for item in validated:
        paths_by_id.setdefault(item.policy.id, []).append(item.path)
    for policy_id, paths in paths_by_id.items():
        if len(paths) > 1:
            for path in paths:
                others = ", ".join(other.name for other in paths if other != path)
                yield PolicyProblem(path, "id", f"duplicate id {policy_id!r} (also in {others})")


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys (it would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its Python value."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _yaml_problem(path: Path, exc: yaml.MarkedYAMLError) -> PolicyProblem:
    mark = exc.problem_mark or exc.context_mark
    context = exc.context
    if context and exc.context_mark and mark and exc.context_mark.line != mark.line:
        # An unclosed bracket is reported where parsing gave up; the opening line is the mistake.
        context += f" started on line {exc.context_mark.line + 1}"
    reason = " ".join(part for part in (context, exc.problem) if part)
    return PolicyProblem(
        path,
        "",
        f"YAML syntax error: {reason}",
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
    )


def _line_of(root: yaml.Node | None, location: Location) -> int | None:
    """The line of the deepest node on `location` that exists (the parent of a missing key)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            node = next(
                (value for key, value in node.value if key.value == part),
                None,
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _root_causes(exc: ValidationError) -> list[ErrorDetails]:
    """The errors minus "too short" ones that only follow from an item below being invalid."""
    errors = exc.errors()
    return [
        error
        for error in errors
        if error["type"] != "too_short"
        or not any(
            len(other["loc"]) > len(error["loc"])
            and other["loc"][: len(error["loc"])] == error["loc"]
            for other in errors
        )
    ]


def _reason(error: ErrorDetails) -> str:
    """A pydantic error in the words of the policy format."""
    kind = error["type"]
    location = error["loc"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(location[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {location[-1]!r}{hint}"
    if kind == "missing":
        return f"missing required key {location[-1]!r}"
    if kind in {"value_error", "assertion_error"}:
        return str(error.get("ctx", {}).get("error", error["msg"]))
    given = error.get("input")
    if isinstance(given, str | int | float | bool) or given is None:
        return f"{error['msg']} (got {given!r})"
    return error["msg"]


def _allowed_keys(location: Location) -> list[str]:
    """The keys the model at `location` accepts, to suggest when a key is unknown."""
    annotation: Any = Policy
    for part in location:
        annotation = _field_type(annotation, part)
    model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _field_type(annotation: Any, part: str | int) -> Any:
    model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, field in model.model_fields.items():
            if (field.alias or name) == part:
                return field.annotation
        return None
    origin = get_origin(model)
    if origin is tuple and isinstance(part, int):
        return get_args(model)[0]
    if origin is dict and isinstance(part, str):
        return get_args(model)[1]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated[...]` and `X | None` down to X."""
    while True:
        origin = get_origin(annotation)
        args = get_args(annotation)
        if origin is not None and hasattr(annotation, "__metadata__"):
            annotation = args[0]
        elif origin in (Union, types.UnionType):
            remaining = [arg for arg in args if arg is not type(None)]
            if len(remaining) != 1:
                return annotation
            annotation = remaining[0]
        else:
            return annotation
