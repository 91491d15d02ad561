"""Deploying the service stack and its parent stacks to the cloud, with clear errors and no leftovers.

CloudFormation emulators fail late and vaguely (moto skips unknown resource types with a log line and
answers a bad resource with an HTTP 500), so everything that can be checked is checked BEFORE the
first stack is created, over every template of the deploy (the plan: `plan_stacks`, parents first, each
once): the template parses, every parameter is known, present and within its constraints, the Rules
hold, and, for what CloudFormation would create (conditions applied, `harness.cfn`), every resource
type can be created by the cloud and every imported export exists or will (a parent exports it). All
problems are reported in one error. If a stack still fails, every stack this call created is deleted
again and the error names the culprit.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from harness.cfn import Evaluator, Pseudo, TemplateProblem, Unresolved, typed_parameters
from harness.cfn.evaluate import as_str
from harness.cfn.loader import load_yaml
from harness.cloud.clients import Aws
from harness.cloud.server import RESOURCE_TYPES_PATH
from harness import resources
from harness.errors import ConfigError, DeployError, ParameterError, TemplateError

# Documented defaults for parameters the harness can fill in itself (README: "Deploying").
DEFAULT_IMAGE = "harness/sample-app:latest"
DEFAULT_ADMIN_EMAIL = "admin@example.com"
# Parent stacks: template parameter -> (stack name, template file next to the service template).
HARNESS_INFRA = resources.infrastructure()  # the shipped parents (package data), from any folder
# Without --parent, these parameters are wired to <stack>.yml/.yaml next to the template (else infrastructure/).
DEFAULT_PARENTS: dict[str, str] = {"ParentVPCStack": "vpc", "ParentClusterStack": "cluster"}
# Parameters named so (the widdix convention) name a parent stack: required ones need --parent.
PARENT_PARAM = re.compile(r"Parent[A-Za-z0-9]*Stack")
# A companion template's parameter named so (ParentServiceStack, ServiceStack, ServiceStackName,
# ParentEcsServiceStack, ...) names the service stack it is deployed after: it gets the service stack's name
# (its exports then import). "Service" must end the name before "Stack": ParentServiceDiscoveryStack is not it.
SERVICE_STACK_PARAM = re.compile(r"[A-Za-z0-9]*ServiceStack(Name)?")
# A deploy-time wait on the emulator (wall seconds), not template time.
STACK_WAIT_S = 120.0
# The sample app's task definition, registered when a service template takes its task definition as a
# parameter (TaskDefinition: !Ref TaskDefinitionArn, the widdix convention) and none is given: the
# sample app's hard memory limit, as the shipped infrastructure/ecs.yml gives its container, and the
# smallest Fargate size (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)
# for a Fargate service. These are the harness's own app's sizes, never a template's numbers.
SAMPLE_TASK_MEMORY_MIB = 128
SAMPLE_FARGATE_CPU, SAMPLE_FARGATE_MEMORY = "256", "512"



@dataclass(frozen=True)
class Deployment:
    """What `deploy()` did: the service stack, its parents, its companions (--companion, deployed after it)
    and the stacks it created itself (in creation order)."""

    stack_name: str
    parent_stacks: tuple[str, ...]
    created_stacks: tuple[str, ...]
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # stack name -> the template file it came from
    task_definitions: tuple[str, ...] = ()  # task definitions the deployment registered itself (sample app)
    companion_stacks: tuple[str, ...] = ()  # stacks deployed after the service stack (--companion), in order

    @property
    def other_stacks(self) -> tuple[str, ...]:
        """Every stack of the deployment but the service stack: parents, then companions (what is read)."""
        return (*self.parent_stacks, *self.companion_stacks)


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


def load_template(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON CloudFormation template; TemplateError names the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc.strerror or exc}") from exc
    try:
        doc = load_yaml(text)
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
            raise ParameterError(f"parameter {name} is required by {source} and has no value; pass --param {name}=...")
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


def imported_exports(template: dict[str, Any], params: dict[str, str], stack_name: str) -> list[tuple[str, str]]:
    """(logical id, export name) for every Fn::ImportValue CloudFormation would evaluate (conditions
    applied, only the Fn::If branches taken) whose name is known before deploying."""
    ev = Evaluator(template, typed_parameters(template, params), Pseudo(stack_name))
    out: list[tuple[str, str]] = []
    for where, name in ev.imports():
        if not isinstance(name, Unresolved):
            out.append((where.split(" ", 1)[-1], as_str(name)))
    return out


# ------------------------------------------------------------------------------------ the cloud


def cloud_resource_types(aws: Aws) -> frozenset[str] | None:
    """Resource types the embedded cloud can create, or None when the endpoint does not say."""
    try:
        with urllib.request.urlopen(aws.endpoint + RESOURCE_TYPES_PATH, timeout=5) as resp:
            return frozenset(json.loads(resp.read()))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def unsupported_types(resources: dict[str, Any], supported: frozenset[str] | None) -> dict[str, list[str]]:
    """type -> the logical ids of `resources` (those CloudFormation would create) the cloud cannot create."""
    out: dict[str, list[str]] = {}
    if supported is None:
        return out
    for logical_id, res in resources.items():
        rtype = str(res["Type"])
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            continue
        if rtype not in supported:
            out.setdefault(rtype, []).append(str(logical_id))
    return out


def _type_problems(source: str, missing: dict[str, list[str]]) -> list[Problem]:
    problems: list[Problem] = []
    for rtype, ids in missing.items():
        if len(ids) == 1:
            text = f"resource {ids[0]} in {source} has type {rtype}, which the cloud cannot create"
        else:
            text = f"resources {', '.join(ids)} in {source} have type {rtype}, which the cloud cannot create"
        problems.append(Problem(text, resource=ids[0]))
    return problems


def check_resource_types(template: dict[str, Any], supported: frozenset[str] | None, source: str) -> None:
    """Refuse every type the cloud cannot create among ALL of the template's resources, in one error."""
    _raise_problems(_type_problems(source, unsupported_types(template["Resources"], supported)))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template, and the resource it is about (if one)."""

    text: str
    resource: str | None = None
    stack: str | None = None


def _raise_problems(problems: list[Problem]) -> None:
    """Every problem in one one-line DeployError (its resource set only when there is one culprit)."""
    if not problems:
        return
    if len(problems) == 1:
        raise DeployError(problems[0].text, stack=problems[0].stack, resource=problems[0].resource)
    raise DeployError(
        f"{len(problems)} problems, nothing deployed: " + "; ".join(p.text for p in problems),
        stack=problems[0].stack,
        resource=problems[0].resource,
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
    except (ClientError, BotoCoreError, ResponseParserError):
        return None, ""
    for ev in reversed(events):  # oldest first
        if str(ev.get("ResourceStatus", "")).endswith("_FAILED") and ev.get("LogicalResourceId") != name:
            return str(ev["LogicalResourceId"]), str(ev.get("ResourceStatusReason", ""))
    for ev in events:  # newest first: the resource that was being created when it broke
        if ev.get("LogicalResourceId") != name and ev.get("ResourceStatus") == "CREATE_IN_PROGRESS":
            return str(ev["LogicalResourceId"]), ""
    return None, ""


# A nested stack is created from its TemplateURL, read from the cloud's own S3, which holds none of the
# user's nested templates: say what to do instead (the reason stays the cloud's).
NESTED_STACK = "AWS::CloudFormation::Stack"
NESTED_STACK_HINT = (" (a nested stack's TemplateURL is read from the embedded cloud's S3, which does not hold it: "
                     "give the nested service template itself as --template, its inputs as --param KEY=VALUE)")


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
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        resource, reason = _failed_resource(aws, name)
        if resource is None:
            # The embedded cloud names the failing resource in the error (harness.cloud.cfn.parsing):
            # "Resource <LogicalId> (<Type>) failed to create: <reason>".
            m = re.search(r"Resource (\w+) \(([\w:]+)\)(?: failed to create: (.*))?", str(exc), re.S)
            resource = m.group(1) if m else None
            if m and m.group(3):
                reason = f"{m.group(2)}: {' '.join(m.group(3).split())}"
        if reason.startswith(f"{NESTED_STACK}:"):
            reason += NESTED_STACK_HINT
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
    """The cloud's error as one line (an emulator's HTML error page is not the user's business)."""
    text = str(exc)
    if "Internal Server Error" in text or "invalid XML" in text:
        return "the cloud answered with an internal error (see the embedded cloud's log)"
    return " ".join(text.split())


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
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            problems.append(f"stack {name} could not be deleted: {_short(exc)}")
    return problems


# ------------------------------------------------------------------------------------ parents


def parse_parents(pairs: list[str]) -> dict[str, Path]:
    """["PARAM=TEMPLATE", ...] (--parent) -> {PARAM: path}; ConfigError names the bad pair or file."""
    out: dict[str, Path] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError(f"--parent {pair!r} is not of the form PARAM=TEMPLATE")
        if not re.fullmatch(r"[A-Za-z0-9]+", key):
            raise ConfigError(f"--parent {pair!r}: {key!r} is not a valid CloudFormation parameter name")
        if key in out:
            raise ConfigError(f"--parent {key} is given twice")
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"--parent {key}={value}: template {path} does not exist")
        out[key] = path
    return out


def parent_stack_name(param: str) -> str:
    """The stack a parent parameter is deployed as: the two defaults keep their names (vpc, cluster);
    otherwise the parameter without Parent...Stack, lower-case (ParentAlertStack -> alert)."""
    if param in DEFAULT_PARENTS:
        return DEFAULT_PARENTS[param]
    core = re.sub(r"^Parent|Stack$", "", param) or param
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "-", core).lower()


def default_parent_template(param: str, near: list[Path]) -> Path | None:
    """A default parent (ParentVPCStack -> vpc, ParentClusterStack -> cluster) as .yml or .yaml in the
    first folder of `near` that has one, else in the harness's infrastructure/."""
    stem = DEFAULT_PARENTS[param]
    for folder in [*near, HARNESS_INFRA]:
        for ext in (".yml", ".yaml"):
            if (folder / f"{stem}{ext}").is_file():
                return folder / f"{stem}{ext}"
    return None


def _is_parent_param(name: str) -> bool:
    return bool(PARENT_PARAM.fullmatch(name))


@dataclass
class StackPlan:
    """One stack to deploy: its template, its parameter values, and the parent stacks they name."""

    name: str
    path: Path
    doc: dict[str, Any]
    parents: dict[str, str]  # parent parameter -> stack name
    values: dict[str, str] = field(default_factory=dict)
    exists: bool = False  # a parent stack already in the cloud is used as it is
    companion: bool = False  # deployed after the service stack (--companion)
    task_definition_params: list[str] = field(default_factory=list)  # filled with a registered sample task


def plan_stacks(template: Path, params: dict[str, str], parents: dict[str, Path], stack_name: str,
                companions: list[Path] | tuple[Path, ...] = ()) -> list[StackPlan]:
    """The stacks to deploy, parents first (each once, in dependency order), then the service stack, then
    each companion in the order given (after any parent of its own not planned yet).

    A companion's parameter named like a parent parameter gets that parent's stack (the same one the
    service's parameter got), and one named like SERVICE_STACK_PARAM (ParentServiceStack, ServiceStack,
    ...) gets the service stack's name, unless --param gives it.

    A parameter is wired to a parent stack when --parent names it, or when it is ParentVPCStack or
    ParentClusterStack with no value and no Default (then vpc/cluster .yml/.yaml is looked up next to the
    template). A parameter given with --param is a value (e.g. an existing stack's name), never deployed.
    """
    doc = load_template(template)
    plans: dict[str, StackPlan] = {}  # parent parameter -> plan
    order: list[StackPlan] = []

    def visit(path: Path, tdoc: dict[str, Any], name: str, chain: list[str], companion: bool = False) -> StackPlan:
        declared: dict[str, Any] = tdoc.get("Parameters") or {}
        wired: dict[str, str] = {}
        for param, spec in declared.items():
            spec = spec or {}
            if param in params:
                continue
            if companion and param not in parents and SERVICE_STACK_PARAM.fullmatch(param):
                wired[param] = stack_name
                continue
            if param in parents:
                parent_path = parents[param]
            elif param in DEFAULT_PARENTS and "Default" not in spec:
                found = default_parent_template(param, [template.parent, path.parent])
                if found is None:
                    stem = DEFAULT_PARENTS[param]
                    raise TemplateError(
                        f"parameter {param} of {path} names a parent stack and no {stem}.yml or {stem}.yaml is "
                        f"next to it; pass --parent {param}=FILE"
                    )
                parent_path = found
            elif _is_parent_param(param) and "Default" not in spec:
                raise ParameterError(
                    f"parameter {param} of {path} names a parent stack; pass --parent {param}=FILE "
                    f"(or --param {param}=<existing stack>)"
                )
            else:
                continue
            if param in chain:
                raise TemplateError(f"parent stacks form a cycle: {' -> '.join([*chain, param])}")
            if param not in plans:
                pname = parent_stack_name(param)
                if pname == stack_name:
                    pname = f"{pname}-parent"
                plans[param] = visit(parent_path, load_template(parent_path), pname, [*chain, param])
            wired[param] = plans[param].name
        plan = StackPlan(name=name, path=path, doc=tdoc, parents=wired, companion=companion)
        order.append(plan)
        return plan

    visit(template, doc, stack_name, [])
    for path in companions:
        visit(path, load_template(path), companion_stack_name(stack_name, path, {p.name for p in order}), [],
              companion=True)
    return order


def companion_stack_name(stack_name: str, path: Path, taken: set[str]) -> str:
    """The stack a companion template is deployed as: <service stack>-<file stem> (ecs + scaling.yml ->
    ecs-scaling), made a valid stack name, numbered when taken."""
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", path.stem).strip("-") or "companion"
    name, n = f"{stack_name}-{stem}", 2
    while name in taken:
        name, n = f"{stack_name}-{stem}-{n}", n + 1
    return name


def parse_companions(files: list[str]) -> list[Path]:
    """--companion TEMPLATE (repeatable) -> the template paths in order; ConfigError names a missing file."""
    out: list[Path] = []
    for value in files:
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"--companion {value}: template {path} does not exist")
        if path in out:
            raise ConfigError(f"--companion {value} is given twice")
        out.append(path)
    return out


def external_task_definition_params(doc: dict[str, Any], given: dict[str, str]) -> list[str]:
    """Parameters that an AWS::ECS::Service takes as its TaskDefinition (`TaskDefinition: !Ref P`, a task
    definition registered outside the stack), declared without a Default and not given."""
    declared: dict[str, Any] = doc.get("Parameters") or {}
    found: list[str] = []
    for res in (doc.get("Resources") or {}).values():
        if not isinstance(res, dict) or res.get("Type") != "AWS::ECS::Service":
            continue
        ref = (res.get("Properties") or {}).get("TaskDefinition")
        name = ref.get("Ref") if isinstance(ref, dict) and len(ref) == 1 else None
        if (isinstance(name, str) and name in declared and name not in given and name not in found
                and "Default" not in (declared[name] or {})):
            found.append(name)
    return found


def _placeholder_task_definition(plan: StackPlan, param: str, region: str) -> str:
    # The ARN form https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html;
    # the real one replaces it once registered (after every check passed).
    return f"arn:aws:ecs:{region}:000000000000:task-definition/{plan.name}-{param}:1"


def _register_sample_task_definition(aws: Aws, plan: StackPlan, param: str) -> tuple[str, str]:
    """Register the sample app as the task definition `param` names; (ARN, what was registered).

    Shaped by the service that uses it, as the template says it must match ("The container definition
    must match"): the container name and port of its LoadBalancers; awsvpc (static port) for a Fargate or
    NetworkConfiguration service, else bridge with a dynamic host port (HostPort 0).
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html"""
    ev = Evaluator(plan.doc, typed_parameters(plan.doc, plan.values), Pseudo(plan.name, region=aws.region))
    props: dict[str, Any] = {}
    for logical_id, res in ev.active_resources().items():
        raw = (res.get("Properties") or {}) if res.get("Type") == "AWS::ECS::Service" else {}
        if raw.get("TaskDefinition") == {"Ref": param}:
            props = ev.evaluate_in(f"resource {logical_id}", raw)
            break
    lbs = [lb for lb in props.get("LoadBalancers") or [] if isinstance(lb, dict)]
    providers = [str(p.get("CapacityProvider", "")) for p in props.get("CapacityProviderStrategy") or []
                 if isinstance(p, dict)]
    fargate = props.get("LaunchType") == "FARGATE" or any(p.startswith("FARGATE") for p in providers)
    awsvpc = fargate or "NetworkConfiguration" in props
    name = str(lbs[0].get("ContainerName") or "main") if lbs else "main"
    container: dict[str, Any] = {"name": name, "image": DEFAULT_IMAGE, "essential": True,
                                 "memory": SAMPLE_TASK_MEMORY_MIB}
    port = lbs[0].get("ContainerPort") if lbs else None
    if port is not None and not isinstance(port, Unresolved):
        container["portMappings"] = [{"containerPort": int(port), "hostPort": int(port) if awsvpc else 0,
                                      "protocol": "tcp"}]
    kwargs: dict[str, Any] = {"family": f"{plan.name}-{param}", "containerDefinitions": [container],
                              "networkMode": "awsvpc" if awsvpc else "bridge"}
    if fargate:
        kwargs.update(requiresCompatibilities=["FARGATE"], cpu=SAMPLE_FARGATE_CPU, memory=SAMPLE_FARGATE_MEMORY)
    try:
        td = aws.client("ecs").register_task_definition(**kwargs)["taskDefinition"]
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        raise DeployError(f"parameter {param} of {plan.path}: the sample app's task definition could not be "
                          f"registered: {_short(exc)}", stack=plan.name) from exc
    ports = f", port {port}" if "portMappings" in container else ""
    return str(td["taskDefinitionArn"]), f"the sample app, container {name}{ports}, {kwargs['networkMode']}"


def _deregister(aws: Aws, arns: list[str]) -> list[str]:
    problems: list[str] = []
    for arn in arns:
        try:
            aws.client("ecs").deregister_task_definition(taskDefinition=arn)
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            problems.append(f"task definition {arn} could not be deregistered: {_short(exc)}")
    return problems


def _values_for(plan: StackPlan, params: dict[str, str], region: str = "us-east-1") -> dict[str, str]:
    """--param values for what this template declares, the parent stacks, and the harness's own defaults."""
    declared: dict[str, Any] = plan.doc.get("Parameters") or {}
    given = {k: v for k, v in params.items() if k in declared}
    given.update(plan.parents)
    # A task definition the template takes as a parameter: the sample app's, registered at deploy.
    plan.task_definition_params = external_task_definition_params(plan.doc, given)
    for name in plan.task_definition_params:
        given[name] = _placeholder_task_definition(plan, name, region)
    # Values the harness supplies itself when the template asks for them without a default.
    for name, value in (("Image", DEFAULT_IMAGE), ("AdminEmail", DEFAULT_ADMIN_EMAIL)):
        if name in declared and "Default" not in (declared[name] or {}) and name not in given:
            given[name] = value
    return resolve_parameters(plan.doc, given, source=str(plan.path))


def _ssm_values(aws: Aws, plan: StackPlan) -> tuple[dict[str, str], list[Problem]]:
    """Parameters of type AWS::SSM::Parameter::Value<...> hold an SSM parameter NAME; CloudFormation
    uses the stored value. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types"""
    declared: dict[str, Any] = plan.doc.get("Parameters") or {}
    out = dict(plan.values)
    problems: list[Problem] = []
    for name, value in plan.values.items():
        ptype = str((declared.get(name) or {}).get("Type", "String"))
        if not ptype.startswith("AWS::SSM::Parameter::Value<"):
            continue
        try:
            out[name] = str(aws.client("ssm").get_parameter(Name=value)["Parameter"]["Value"])
        except ClientError as exc:
            if "ParameterNotFound" not in str(exc):
                raise
            problems.append(Problem(f"parameter {name} of {plan.path} names SSM parameter {value}, which does not "
                                    "exist in the cloud", stack=plan.name))
    return out, problems


def _check(aws: Aws, order: list[StackPlan]) -> None:
    """Every problem of every template, as CloudFormation sees it, in one error (nothing created yet)."""
    supported = cloud_resource_types(aws)
    exports = _exports(aws)
    problems: list[Problem] = []
    for plan in order:
        source = str(plan.path)
        values, ssm_problems = _ssm_values(aws, plan)
        problems += ssm_problems
        try:
            ev = Evaluator(plan.doc, typed_parameters(plan.doc, values), Pseudo(plan.name, region=aws.region))
            problems += [Problem(f"{source}: {text}", stack=plan.name) for text in ev.rule_failures()]
            active = ev.active_resources()
        except TemplateProblem as exc:
            problems.append(Problem(f"{source}: {exc}", stack=plan.name))
            continue
        problems += _type_problems(source, unsupported_types(active, supported))
        for where, text in ev.problems():
            kind, _, culprit = where.partition(" ")
            problems.append(Problem(f"{source}: {text}", stack=plan.name,
                                    resource=culprit if kind == "resource" else None))
        try:
            imports = ev.imports()
            new_exports = ev.export_names()
        except TemplateProblem as exc:
            problems.append(Problem(f"{source}: {exc}", stack=plan.name))
            continue
        for where, name in imports:
            if isinstance(name, Unresolved) or as_str(name) in exports:
                continue
            kind, _, culprit = where.partition(" ")
            problems.append(Problem(
                f"{kind} {culprit} in {source} imports export {as_str(name)}, which no stack exports",
                stack=plan.name, resource=culprit if kind == "resource" else None))
        if not plan.exists:
            exports |= set(new_exports)  # a parent deployed first exports these to the stacks after it
    _raise_problems(problems)


# ------------------------------------------------------------------------------------ deploy


def deploy(
    aws: Aws,
    template: Path,
    params: dict[str, str],
    *,
    stack_name: str = "ecs",
    parents: dict[str, Path] | None = None,
    say: Callable[[str], None] | None = None,
    companions: list[Path] | None = None,
) -> Deployment:
    """Deploy `template` as `stack_name`, after its parent stacks (`parents`: parameter -> template;
    by default vpc/cluster .yml/.yaml next to it or in infrastructure/), then each of `companions`
    (templates deployed after the service stack, e.g. its scaling: see plan_stacks).

    All validation happens before the first stack is created, over every template: parameters, Rules,
    resource types and imports of what CloudFormation would create. On any failure every stack this call
    created is deleted again and the error is raised.
    """
    template = Path(template)
    order = plan_stacks(template, dict(params), dict(parents or {}), stack_name, [Path(c) for c in companions or ()])
    declared_anywhere = {name for plan in order for name in (plan.doc.get("Parameters") or {})}
    for name in params:
        if name not in declared_anywhere:
            known = ", ".join(sorted(declared_anywhere)) or "none"
            sources = ", ".join(str(p.path) for p in order)
            raise ParameterError(f"parameter {name} is not declared by {sources} (they declare: {known})")
    for name in parents or {}:
        if name not in declared_anywhere:
            raise ParameterError(f"--parent {name}: no template declares parameter {name} "
                                 f"({', '.join(str(p.path) for p in order)})")
    for plan in order:
        plan.values = _values_for(plan, params, aws.region)
    service = next(p for p in order if p.name == stack_name and not p.companion)
    for plan in order:
        if plan is service or plan.companion:
            if _stack_status(aws, plan.name) is not None:
                raise DeployError(f"stack {plan.name} already exists; tear it down or choose another stack name",
                                  stack=plan.name)
        else:
            plan.exists = _stack_status(aws, plan.name) not in (None, "DELETE_COMPLETE")
    _check(aws, order)

    created: list[str] = []
    registered: list[str] = []
    service_stack: dict[str, Any] = {}
    try:
        for plan in order:
            if not plan.exists:
                for param in plan.task_definition_params:
                    arn, what = _register_sample_task_definition(aws, plan, param)
                    registered.append(arn)
                    plan.values[param] = arn
                    if say:
                        say(f"task def   {arn} for parameter {param} of {plan.path.name}: {what} "
                            f"(--param {param}=ARN for your own)")
            if plan.exists:
                if say:
                    say(f"stack      {plan.name}: already in the cloud, used as it is (for {plan.path.name})")
                continue
            created.append(plan.name)
            stack = _create_stack(aws, plan.name, plan.path, plan.values)
            if plan is service:
                service_stack = stack
            if say:
                say(f"stack      {plan.name} from {plan.path}")
    except BaseException as exc:
        try:
            problems = _delete_stacks(aws, list(reversed(created))) + _deregister(aws, registered)
        except Exception as cleanup:  # noqa: BLE001 - the deploy error must not be buried by the cleanup's
            problems = [f"cleanup failed: {_short(cleanup)}"]
        if problems and isinstance(exc, DeployError):
            raise DeployError(f"{exc} (and cleanup failed: {'; '.join(problems)})", stack=exc.stack, resource=exc.resource) from exc
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in service_stack.get("Outputs", [])}
    return Deployment(
        stack_name=stack_name,
        parent_stacks=tuple(p.name for p in order if p is not service and not p.companion),
        created_stacks=tuple(created),
        outputs=outputs,
        parameters=service.values,
        sources={p.name: str(p.path) for p in order},
        task_definitions=tuple(registered),
        companion_stacks=tuple(p.name for p in order if p.companion),
    )


def teardown(aws: Aws, deployment: Deployment) -> None:
    """Delete the stacks this deployment created, newest first: its companions (last first), the service
    stack, then its parents."""
    problems = _delete_stacks(aws, list(reversed(deployment.created_stacks)))
    problems += _deregister(aws, list(deployment.task_definitions))
    if problems:
        raise DeployError("; ".join(problems), stack=deployment.stack_name)
