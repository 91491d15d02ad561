"""Deploying the service stack (and its parent stacks) to the cloud, with clear errors and no leftovers.

CloudFormation emulators fail late and vaguely (moto skips unknown resource types with a log line and
answers a bad resource with an HTTP 500), so everything that can be checked is checked BEFORE the
first stack is created: the template parses, every parameter is known, present and within its
constraints, every resource type can be created by the cloud, every imported export exists. If a
stack still fails, every stack this call created is deleted again and the error names the culprit.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from harness.cloud.clients import Aws
from harness.cloud.server import RESOURCE_TYPES_PATH
from harness.errors import ConfigError, DeployError, ParameterError, TemplateError

# Documented defaults for parameters the harness can fill in itself (README: "Deploying").
DEFAULT_IMAGE = "harness/sample-app:latest"
DEFAULT_ADMIN_EMAIL = "admin@example.com"
# Parent stacks: template parameter -> (stack name, template file next to the service template).
HARNESS_INFRA = Path(__file__).resolve().parent.parent / "infrastructure"
PARENT_STACKS: tuple[tuple[str, str, str], ...] = (
    ("ParentVPCStack", "vpc", "vpc.yml"),
    ("ParentClusterStack", "cluster", "cluster.yml"),
)
# A deploy-time wait on the emulator (wall seconds), not template time.
STACK_WAIT_S = 120.0

_PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId", "AWS::Partition", "AWS::URLSuffix"}


@dataclass(frozen=True)
class Deployment:
    """What `deploy()` did: the service stack, its parents, and the stacks it created itself."""

    stack_name: str
    parent_stacks: tuple[str, ...]
    created_stacks: tuple[str, ...]
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ parameters


def parse_params(pairs: list[str]) -> dict[str, str]:
    """["KEY=VALUE", ...] -> {KEY: VALUE}; ConfigError names the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"parameter {pair!r} is not of the form KEY=VALUE")
        if not re.fullmatch(r"[A-Za-z0-9]+", key):
            raise ConfigError(f"parameter {pair!r}: {key!r} is not a valid CloudFormation parameter name")
        if key in out:
            raise ConfigError(f"parameter {key} is given twice")
        out[key] = value
    return out


# ------------------------------------------------------------------------------------ templates


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON CloudFormation template; TemplateError names the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc.strerror or exc}") from exc
    try:
        doc = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(f"template {where} does not parse: {problem}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict) or not doc["Resources"]:
        raise TemplateError(f"template {path} is not a CloudFormation template (no Resources section)")
    for logical_id, res in doc["Resources"].items():
        if not isinstance(res, dict) or not isinstance(res.get("Type"), str):
            raise TemplateError(f"template {path}: resource {logical_id} has no Type", resource=str(logical_id))
    params = doc.get("Parameters") or {}
    if not isinstance(params, dict):
        raise TemplateError(f"template {path}: Parameters is not a mapping")
    return doc


def resolve_parameters(template: dict[str, Any], given: dict[str, str], *, source: str = "template") -> dict[str, str]:
    """The parameter values to deploy with: given + defaults, every constraint checked.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    """
    declared: dict[str, Any] = template.get("Parameters") or {}
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ParameterError(f"parameter {name} is not declared by {source} (it declares: {known})")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in given:
            value = given[name]
        elif "Default" in spec:
            value = _as_str(spec["Default"])
        else:
            raise ParameterError(f"parameter {name} is required by {source} and has no value; pass {name}=...")
        _check_constraints(name, value, spec)
        values[name] = value
    return values


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_as_str(v) for v in value)
    return str(value)


def _check_constraints(name: str, value: str, spec: dict[str, Any]) -> None:
    ptype = str(spec.get("Type", "String"))
    hint = f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""
    if ptype == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"parameter {name} must be a number, got {value!r}") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ParameterError(f"parameter {name}={value} breaks MinValue {spec['MinValue']}{hint}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ParameterError(f"parameter {name}={value} breaks MaxValue {spec['MaxValue']}{hint}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ParameterError(f"parameter {name}={value!r} breaks MinLength {spec['MinLength']}{hint}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ParameterError(f"parameter {name}={value!r} breaks MaxLength {spec['MaxLength']}{hint}")
    if "AllowedValues" in spec:
        allowed = [_as_str(v) for v in spec["AllowedValues"]]
        candidates = value.split(",") if ptype.startswith("List<") or ptype == "CommaDelimitedList" else [value]
        for candidate in candidates:
            if candidate not in allowed and not (ptype == "Number" and _num_in(candidate, allowed)):
                raise ParameterError(
                    f"parameter {name}={value!r} breaks AllowedValues {allowed}{hint}"
                )
    if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
        raise ParameterError(f"parameter {name}={value!r} breaks AllowedPattern {spec['AllowedPattern']!r}{hint}")


def _num_in(value: str, allowed: list[str]) -> bool:
    try:
        return any(float(value) == float(a) for a in allowed)
    except ValueError:
        return False


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def imported_exports(template: dict[str, Any], params: dict[str, str], stack_name: str) -> list[tuple[str, str]]:
    """(logical id, export name) for every Fn::ImportValue whose name depends only on parameters."""
    out: list[tuple[str, str]] = []
    for logical_id, res in (template.get("Resources") or {}).items():
        for node in _walk(res):
            if isinstance(node, dict) and "Fn::ImportValue" in node:
                name = _static_string(node["Fn::ImportValue"], params, stack_name)
                if name is not None:
                    out.append((str(logical_id), name))
    return out


def _static_string(node: Any, params: dict[str, str], stack_name: str) -> str | None:
    pseudo = {"AWS::StackName": stack_name, "AWS::Region": "us-east-1"}
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Ref" in node:
        ref = str(node["Ref"])
        return params.get(ref, pseudo.get(ref))
    if isinstance(node, dict) and "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
        text = node["Fn::Sub"]
        missing = False

        def repl(m: re.Match[str]) -> str:
            nonlocal missing
            var = m.group(1)
            if var in params:
                return params[var]
            if var in pseudo:
                return pseudo[var]
            missing = True
            return ""

        result = re.sub(r"\$\{([^}!]+)\}", repl, text)
        return None if missing else result
    return None


# ------------------------------------------------------------------------------------ the cloud


def cloud_resource_types(aws: Aws) -> frozenset[str] | None:
    """Resource types the embedded cloud can create, or None when the endpoint does not say."""
    try:
        with urllib.request.urlopen(aws.endpoint + RESOURCE_TYPES_PATH, timeout=5) as resp:
            return frozenset(json.loads(resp.read()))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def check_resource_types(template: dict[str, Any], supported: frozenset[str] | None, source: str) -> None:
    if supported is None:
        return
    for logical_id, res in template["Resources"].items():
        rtype = res["Type"]
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            continue
        if rtype not in supported:
            raise DeployError(
                f"resource {logical_id} in {source} has type {rtype}, which the cloud cannot create",
                resource=str(logical_id),
            )


def _stack_status(aws: Aws, name: str) -> str | None:
    cf = aws.client("cloudformation")
    try:
        stacks = cf.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return str(stacks[0]["StackStatus"]) if stacks else None


def _exports(aws: Aws) -> set[str]:
    cf = aws.client("cloudformation")
    names: set[str] = set()
    kwargs: dict[str, Any] = {}
    while True:
        page = cf.list_exports(**kwargs)
        names.update(e["Name"] for e in page.get("Exports", []))
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


def _wait_stack(aws: Aws, name: str) -> dict[str, Any]:
    """Poll until the stack leaves *_IN_PROGRESS (bounded wall time: the emulator's own work)."""
    cf = aws.client("cloudformation")
    deadline = time.monotonic() + STACK_WAIT_S
    while True:
        stack: dict[str, Any] = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not str(stack["StackStatus"]).endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            raise DeployError(
                f"stack {name} is still {stack['StackStatus']} after {STACK_WAIT_S:.0f} s", stack=name
            )
        time.sleep(0.1)


def _failed_resource(aws: Aws, name: str) -> tuple[str | None, str]:
    """The first failed (or last started) resource of a stack and its reason, from its events."""
    cf = aws.client("cloudformation")
    try:
        events = cf.describe_stack_events(StackName=name)["StackEvents"]
    except (ClientError, BotoCoreError):
        return None, ""
    for ev in reversed(events):  # oldest first
        if str(ev.get("ResourceStatus", "")).endswith("_FAILED") and ev.get("LogicalResourceId") != name:
            return str(ev["LogicalResourceId"]), str(ev.get("ResourceStatusReason", ""))
    for ev in events:  # newest first: the resource that was being created when it broke
        if ev.get("LogicalResourceId") != name and ev.get("ResourceStatus") == "CREATE_IN_PROGRESS":
            return str(ev["LogicalResourceId"]), ""
    return None, ""


def _create_stack(aws: Aws, name: str, template_path: Path, params: dict[str, str]) -> dict[str, Any]:
    cf = aws.client("cloudformation")
    try:
        cf.create_stack(
            StackName=name,
            TemplateBody=template_path.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = _wait_stack(aws, name)
    except (ClientError, BotoCoreError) as exc:
        resource, reason = _failed_resource(aws, name)
        if resource is None:
            # The embedded cloud names the failing resource in the error (see cfn_models).
            m = re.search(r"Resource (\w+) \(", str(exc))
            resource = m.group(1) if m else None
        culprit = f" at resource {resource}" if resource else ""
        raise DeployError(
            f"stack {name} ({template_path}) failed to deploy{culprit}: {reason or _short(exc)}",
            stack=name,
            resource=resource,
        ) from exc
    status = str(stack["StackStatus"])
    if status != "CREATE_COMPLETE":
        resource, reason = _failed_resource(aws, name)
        culprit = f" at resource {resource}" if resource else ""
        raise DeployError(
            f"stack {name} ({template_path}) ended in {status}{culprit}: "
            f"{reason or stack.get('StackStatusReason') or 'no reason given'}",
            stack=name,
            resource=resource,
        )
    return stack


def _short(exc: Exception) -> str:
    text = str(exc)
    if "Internal Server Error" in text or "invalid XML" in text:
        return "the cloud answered with an internal error (see the embedded cloud's log)"
    return text


def _delete_stacks(aws: Aws, names: list[str]) -> list[str]:
    """Delete stacks in the given order; return sentences for those that would not go."""
    cf = aws.client("cloudformation")
    problems: list[str] = []
    for name in names:
        try:
            if _stack_status(aws, name) is None:
                continue
            cf.delete_stack(StackName=name)
            deadline = time.monotonic() + STACK_WAIT_S
            while (status := _stack_status(aws, name)) is not None and status != "DELETE_COMPLETE":
                if status == "DELETE_FAILED" or time.monotonic() > deadline:
                    problems.append(f"stack {name} could not be deleted ({status})")
                    break
                time.sleep(0.1)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"stack {name} could not be deleted: {exc}")
    return problems


# ------------------------------------------------------------------------------------ deploy


def deploy(aws: Aws, template: Path, params: dict[str, str], *, stack_name: str = "ecs") -> Deployment:
    """Deploy `template` as `stack_name`, after its parent stacks (vpc.yml, cluster.yml next to it).

    All validation happens before the first stack is created; on any failure every stack created by
    this call is deleted again and the error is raised.
    """
    template = Path(template)
    doc = load_template(template)
    declared: dict[str, Any] = doc.get("Parameters") or {}
    given = dict(params)
    # Values the harness supplies itself when the template asks for them without a default.
    if "Image" in declared and "Default" not in (declared["Image"] or {}) and "Image" not in given:
        given["Image"] = DEFAULT_IMAGE
    if "AdminEmail" in declared and "Default" not in (declared["AdminEmail"] or {}) and "AdminEmail" not in given:
        given["AdminEmail"] = DEFAULT_ADMIN_EMAIL

    # Parent stacks this template needs and the harness provides.
    parents: list[tuple[str, Path, dict[str, str]]] = []
    for param, default_stack, filename in PARENT_STACKS:
        if param in declared and param not in given:
            given[param] = default_stack
            # The template's own parent next to it, else the harness's (infrastructure/ of this repo).
            parent_path = next((p for p in (template.parent / filename, HARNESS_INFRA / filename) if p.exists()), None)
            if parent_path is None:
                raise TemplateError(
                    f"template {template} needs parameter {param}; pass {param}=<stack> or put {filename} next to it"
                )
            parent_doc = load_template(parent_path)
            parent_params = {p: given[p] for p in (parent_doc.get("Parameters") or {}) if p in given}
            parents.append((default_stack, parent_path, resolve_parameters(parent_doc, parent_params, source=str(parent_path))))

    values = resolve_parameters(doc, given, source=str(template))
    supported = cloud_resource_types(aws)
    check_resource_types(doc, supported, str(template))
    for _, parent_path, _ in parents:
        check_resource_types(load_template(parent_path), supported, str(parent_path))
    if _stack_status(aws, stack_name) is not None:
        raise DeployError(f"stack {stack_name} already exists; tear it down or choose another stack name", stack=stack_name)

    created: list[str] = []
    try:
        for parent_name, parent_path, parent_values in parents:
            if _stack_status(aws, parent_name) in (None, "DELETE_COMPLETE"):
                created.append(parent_name)
                _create_stack(aws, parent_name, parent_path, parent_values)
        exports = _exports(aws)
        for logical_id, export in imported_exports(doc, values, stack_name):
            if export not in exports:
                raise DeployError(
                    f"resource {logical_id} in {template} imports export {export}, which no stack exports",
                    stack=stack_name,
                    resource=logical_id,
                )
        created.append(stack_name)
        stack = _create_stack(aws, stack_name, template, values)
    except BaseException as exc:
        problems = _delete_stacks(aws, list(reversed(created)))
        if problems and isinstance(exc, DeployError):
            raise DeployError(f"{exc} (and cleanup failed: {'; '.join(problems)})", stack=exc.stack, resource=exc.resource) from exc
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Deployment(
        stack_name=stack_name,
        parent_stacks=tuple(name for name, _, _ in parents),
        created_stacks=tuple(created),
        outputs=outputs,
        parameters=values,
    )


def teardown(aws: Aws, deployment: Deployment) -> None:
    """Delete the service stack, then the parent stacks this deployment created (newest first)."""
    problems = _delete_stacks(aws, list(reversed(deployment.created_stacks)))
    if problems:
        raise DeployError("; ".join(problems), stack=deployment.stack_name)
