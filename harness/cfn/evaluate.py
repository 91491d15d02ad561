"""What CloudFormation would do with a template before it creates anything: conditions, intrinsics, imports.

CloudFormation evaluates a template in a fixed order: parameters, then Conditions, then Rules, then only
the resources and outputs whose `Condition` holds, each property with the `Fn::If` branch taken and
`AWS::NoValue` removed. The harness's checks (can the cloud create this type? does this import exist?)
must see the template the same way, or a resource under a false condition is refused for its type and
an import in the branch not taken is demanded. Values only known once resources exist (Ref of a
resource, Fn::GetAtt, an export no stack has yet) evaluate to `Unresolved`, which every function passes
through, so the evaluation never guesses.

References (each function below cites its page):
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class TemplateProblem(Exception):
    """Something CloudFormation itself would reject in the template (message names the culprit)."""


class _NoValue:
    """`Ref: AWS::NoValue`: the property (or list item) is removed."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Unresolved:
    """A value CloudFormation only knows once a resource exists (what says which)."""

    what: str

    def __str__(self) -> str:
        return f"<{self.what}>"


@dataclass(frozen=True)
class Pseudo:
    """Pseudo parameters.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html"""

    stack_name: str
    region: str = "us-east-1"
    account_id: str = "123456789012"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def values(self) -> dict[str, Any]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            # The stack id only exists once the stack does.
            "AWS::StackId": Unresolved("AWS::StackId"),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }


# The availability zones the harness's clouds list for a region (moto answers Fn::GetAZs with these).
AZ_SUFFIXES = ("a", "b", "c", "d")


def get_azs(region: str) -> list[str]:
    """Fn::GetAZs: the region's zones; '' means the stack's region (the caller passes it).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getavailabilityzones.html"""
    return [f"{region}{s}" for s in AZ_SUFFIXES]


def cidr(ip_block: str, count: int, cidr_bits: int) -> list[str]:
    """Fn::Cidr: `count` consecutive blocks with `cidr_bits` host bits each, from the start of ip_block.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-cidr.html"""
    try:
        net = ipaddress.ip_network(str(ip_block), strict=False)
    except ValueError as exc:
        raise TemplateProblem(f"Fn::Cidr: {ip_block!r} is not a CIDR block") from exc
    if not 1 <= count <= 256:
        raise TemplateProblem(f"Fn::Cidr: count {count} is not between 1 and 256")
    prefix = net.max_prefixlen - cidr_bits
    if cidr_bits < 1 or prefix < net.prefixlen:
        raise TemplateProblem(f"Fn::Cidr: {cidr_bits} subnet bits do not fit in {ip_block}")
    out: list[str] = []
    for i, sub in enumerate(net.subnets(new_prefix=prefix)):
        if i >= count:
            break
        out.append(str(sub))
    if len(out) < count:
        raise TemplateProblem(f"Fn::Cidr: {ip_block} holds only {len(out)} blocks of {cidr_bits} bits, not {count}")
    return out


def as_str(value: Any) -> str:
    """A parameter or literal as CloudFormation passes it: strings, booleans lower-case, lists comma-joined."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(as_str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def typed_parameters(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Parameter values as `Ref` returns them: list types as lists, everything else as a string.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html"""
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    out: dict[str, Any] = {}
    for name, value in values.items():
        ptype = str((declared.get(name) or {}).get("Type", "String"))
        if ptype == "CommaDelimitedList" or ptype.startswith("List<") or "<List<" in ptype:
            out[name] = [v.strip() for v in value.split(",")] if value != "" else []
        else:
            out[name] = value
    return out


def _contains_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, list):
        return any(_contains_unresolved(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_unresolved(v) for v in value.values())
    return False


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FNS = ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Fn::Contains", "Fn::EachMemberEquals",
                  "Fn::EachMemberIn")


class Evaluator:
    """One template under one set of parameter values, as CloudFormation sees it.

    `parameters` are the resolved values (`typed_parameters`), `exports` the exports that exist (or
    will, once the parents are deployed); None means unknown, so imports stay Unresolved.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, Any],
        pseudo: Pseudo,
        exports: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.pseudo = pseudo
        self.exports = exports
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self._condition_defs: Mapping[str, Any] = template.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []
        self._imports: list[tuple[str, Any]] | None = None
        self._where = ""
        self.conditions = {name: self.condition(name) for name in self._condition_defs}

    # ------------------------------------------------------------------ conditions

    def condition(self, name: str) -> bool:
        """A named condition. Conditions may use parameters, mappings and other conditions only.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-conditions.html"""
        if name in self._conditions:
            return self._conditions[name]
        if name not in self._condition_defs:
            raise TemplateProblem(f"condition {name} is not declared in Conditions")
        if name in self._evaluating:
            raise TemplateProblem(f"condition {name} depends on itself ({' -> '.join(self._evaluating + [name])})")
        self._evaluating.append(name)
        try:
            result = self._truth(self._condition_defs[name], f"condition {name}")
        finally:
            self._evaluating.pop()
        self._conditions[name] = result
        return result

    def _truth(self, node: Any, where: str) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if isinstance(node, dict) and len(node) == 1:
            (fn, args), = node.items()
            if fn == "Condition":
                return self.condition(str(args))
            if fn == "Fn::Equals":
                # "Compares if two values are equal": both sides as the strings CloudFormation holds.
                if not isinstance(args, list) or len(args) != 2:
                    raise TemplateProblem(f"{where}: Fn::Equals takes two values")
                left, right = (self.evaluate(a) for a in args)
                if _contains_unresolved(left) or _contains_unresolved(right):
                    raise TemplateProblem(f"{where}: Fn::Equals compares a value known only after creation")
                return as_str(left) == as_str(right)
            if fn in ("Fn::And", "Fn::Or"):
                # Fn::And / Fn::Or take 2 to 10 conditions.
                if not isinstance(args, list) or not 2 <= len(args) <= 10:
                    raise TemplateProblem(f"{where}: {fn} takes 2 to 10 conditions")
                results = [self._truth(a, where) for a in args]
                return all(results) if fn == "Fn::And" else any(results)
            if fn == "Fn::Not":
                if not isinstance(args, list) or len(args) != 1:
                    raise TemplateProblem(f"{where}: Fn::Not takes one condition")
                return not self._truth(args[0], where)
            if fn == "Fn::Contains":
                # Rules: true if the string matches at least one element of the list.
                # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html
                items, value = (self.evaluate(a) for a in args)
                return as_str(value) in [as_str(i) for i in _as_list(items)]
            if fn == "Fn::EachMemberEquals":
                items, value = (self.evaluate(a) for a in args)
                return all(as_str(i) == as_str(value) for i in _as_list(items))
            if fn == "Fn::EachMemberIn":
                items, allowed = (self.evaluate(a) for a in args)
                return all(as_str(i) in [as_str(x) for x in _as_list(allowed)] for i in _as_list(items))
        raise TemplateProblem(f"{where}: {json.dumps(node, default=str)} is not a condition function")

    def resource_active(self, logical_id: str) -> bool:
        """A resource is created only if its Condition holds."""
        res = self.resources.get(logical_id) or {}
        cond = res.get("Condition")
        return True if cond is None else self.condition(str(cond))

    def active_resources(self) -> dict[str, dict[str, Any]]:
        return {str(k): v for k, v in self.resources.items() if self.resource_active(str(k))}

    def active_outputs(self) -> dict[str, dict[str, Any]]:
        outputs: Mapping[str, Any] = self.template.get("Outputs") or {}
        return {
            str(k): v for k, v in outputs.items()
            if isinstance(v, dict) and (v.get("Condition") is None or self.condition(str(v["Condition"])))
        }

    # ------------------------------------------------------------------ rules

    def rule_failures(self) -> list[str]:
        """Rules whose RuleCondition holds and one of whose Assertions fails, with AssertDescription.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html"""
        failures: list[str] = []
        for name, rule in (self.template.get("Rules") or {}).items():
            rule = rule or {}
            where = f"rule {name}"
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"], where):
                continue
            for assertion in rule.get("Assertions") or []:
                if not self._truth(assertion.get("Assert"), where):
                    failures.append(f"{where}: {assertion.get('AssertDescription') or 'an assertion failed'}")
        return failures

    # ------------------------------------------------------------------ values

    def evaluate(self, node: Any) -> Any:
        """The value CloudFormation gives `node`: NO_VALUE where it is removed, Unresolved where not yet known."""
        if isinstance(node, list):
            items = [self.evaluate(v) for v in node]
            # AWS::NoValue in a list removes the item.
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref":
                return self._ref(str(args))
            if key.startswith("Fn::") and hasattr(self, "_fn_" + key[4:].lower()):
                return getattr(self, "_fn_" + key[4:].lower())(args)
        out: dict[str, Any] = {}
        for k, v in node.items():
            value = self.evaluate(v)
            if value is not NO_VALUE:  # AWS::NoValue removes the property
                out[k] = value
        return out

    def _ref(self, name: str) -> Any:
        """Ref: a parameter's value, a pseudo parameter, or (once created) a resource's physical id.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-ref.html"""
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo.values()
        if name in pseudo:
            return pseudo[name]
        if name in self.resources:
            if not self.resource_active(name):
                raise TemplateProblem(f"{self._where or 'the template'} refers to {name}, "
                                      "which its Condition leaves out (use Fn::If)")
            return Unresolved(f"Ref {name}")
        raise TemplateProblem(f"{self._where or 'the template'} refers to {name}, which is not a parameter or resource")

    def _fn_getatt(self, args: Any) -> Any:
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getatt.html"""
        if isinstance(args, str):
            args = args.split(".", 1)
        logical_id = str(self.evaluate(args[0]))
        if logical_id not in self.resources:
            raise TemplateProblem(f"{self._where or 'the template'}: Fn::GetAtt names {logical_id}, which is not a resource")
        if not self.resource_active(logical_id):
            raise TemplateProblem(f"{self._where or 'the template'}: Fn::GetAtt names {logical_id}, which its Condition leaves out")
        return Unresolved(f"GetAtt {logical_id}.{self.evaluate(args[1])}")

    def _fn_if(self, args: Any) -> Any:
        """Only the branch taken is evaluated (and so checked, imported, created).
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-conditions.html#intrinsic-function-reference-conditions-if"""
        if not isinstance(args, list) or len(args) != 3:
            raise TemplateProblem(f"{self._where or 'the template'}: Fn::If takes [condition, value if true, value if false]")
        return self.evaluate(args[1] if self.condition(str(args[0])) else args[2])

    def _fn_join(self, args: Any) -> Any:
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-join.html"""
        delimiter, items = args[0], self.evaluate(args[1])
        if _contains_unresolved(items):
            return Unresolved(f"Fn::Join of {items}")
        return str(delimiter).join(as_str(i) for i in _as_list(items))

    def _fn_split(self, args: Any) -> Any:
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-split.html"""
        delimiter, source = args[0], self.evaluate(args[1])
        if isinstance(source, Unresolved):
            return source
        return as_str(source).split(str(delimiter))

    def _fn_select(self, args: Any) -> Any:
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-select.html"""
        index, items = self.evaluate(args[0]), self.evaluate(args[1])
        if isinstance(index, Unresolved) or isinstance(items, Unresolved):
            return Unresolved(f"Fn::Select {index} of {items}")
        items = _as_list(items)
        try:
            i = int(index)
        except (TypeError, ValueError):
            raise TemplateProblem(f"{self._where or 'the template'}: Fn::Select index {index!r} is not a number") from None
        if not 0 <= i < len(items):
            # "The index value must be a value from zero to N-1"
            raise TemplateProblem(f"{self._where or 'the template'}: Fn::Select index {i} is out of range "
                                  f"for a list of {len(items)}")
        return items[i]

    def _fn_sub(self, args: Any) -> Any:
        """${Name} is a parameter, pseudo parameter, resource (Ref) or Resource.Attribute (GetAtt); ${!X} is
        the literal ${X}.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-sub.html"""
        variables: dict[str, Any] = {}
        text = args
        if isinstance(args, list):
            text = args[0]
            variables = {str(k): self.evaluate(v) for k, v in (args[1] if len(args) > 1 else {}).items()}
        unresolved = False

        def repl(m: re.Match[str]) -> str:
            nonlocal unresolved
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in variables:
                value = variables[var]
            elif "." in var and var.split(".", 1)[0] in self.resources:
                value = self._fn_getatt(var.split(".", 1))
            else:
                value = self._ref(var.strip())
            if _contains_unresolved(value):
                unresolved = True
                return ""
            return as_str(value)

        result = _SUB_VAR.sub(repl, str(text))
        return Unresolved(f"Fn::Sub {text}") if unresolved else result

    def _fn_findinmap(self, args: Any) -> Any:
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-findinmap.html"""
        name, top, second = (self.evaluate(a) for a in args[:3])
        if any(isinstance(v, Unresolved) for v in (name, top, second)):
            return Unresolved(f"Fn::FindInMap {name}/{top}/{second}")
        try:
            return self.mappings[str(name)][str(top)][str(second)]
        except (KeyError, TypeError):
            raise TemplateProblem(f"{self._where or 'the template'}: Fn::FindInMap finds no {name}/{top}/{second} "
                                  "in Mappings") from None

    def _fn_getazs(self, args: Any) -> Any:
        region = self.evaluate(args)
        if isinstance(region, Unresolved):
            return region
        return get_azs(str(region) or self.pseudo.region)

    def _fn_cidr(self, args: Any) -> Any:
        block, count, bits = (self.evaluate(a) for a in args)
        if any(isinstance(v, Unresolved) for v in (block, count, bits)):
            return Unresolved(f"Fn::Cidr of {block}")
        return cidr(str(block), int(count), int(bits))

    def _fn_base64(self, args: Any) -> Any:
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-base64.html"""
        value = self.evaluate(args)
        if _contains_unresolved(value):
            return Unresolved("Fn::Base64")
        return base64.b64encode(as_str(value).encode()).decode()

    def _fn_importvalue(self, args: Any) -> Any:
        """The value another stack exports. An export only exists once its stack does.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html"""
        name = self.evaluate(args)
        if self._imports is not None:
            self._imports.append((self._where, name))
        if isinstance(name, Unresolved) or self.exports is None or as_str(name) not in self.exports:
            return Unresolved(f"Fn::ImportValue {name}")
        return self.exports[as_str(name)]

    def _fn_length(self, args: Any) -> Any:
        items = self.evaluate(args)
        return Unresolved("Fn::Length") if isinstance(items, Unresolved) else len(_as_list(items))

    def _fn_tojsonstring(self, args: Any) -> Any:
        value = self.evaluate(args)
        return Unresolved("Fn::ToJsonString") if _contains_unresolved(value) else json.dumps(value)

    # ------------------------------------------------------------------ walks

    def evaluate_in(self, where: str, node: Any) -> Any:
        """`evaluate`, with `where` (e.g. "resource Queue") naming the culprit in any problem."""
        self._where = where
        try:
            return self.evaluate(node)
        finally:
            self._where = ""

    def evaluated_resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each resource CloudFormation creates, its properties evaluated."""
        for logical_id, res in self.active_resources().items():
            value = self.evaluate_in(f"resource {logical_id}", {k: v for k, v in res.items() if k != "Condition"})
            yield logical_id, value

    def imports(self) -> list[tuple[str, Any]]:
        """(where, export name) for every Fn::ImportValue CloudFormation would evaluate: in created
        resources and shown outputs, in the Fn::If branches taken. A name may be Unresolved."""
        self._imports = []
        try:
            for where, node in self.parts():
                try:
                    self.evaluate_in(where, node)
                except TemplateProblem:
                    continue  # a part CloudFormation would reject is reported by itself (see `problems`)
            return list(self._imports)
        finally:
            self._imports = None

    def parts(self) -> list[tuple[str, Any]]:
        """("resource X" | "output Y", node) for what CloudFormation creates and shows."""
        out: list[tuple[str, Any]] = [
            (f"resource {logical_id}", {k: v for k, v in res.items() if k != "Condition"})
            for logical_id, res in self.active_resources().items()
        ]
        out += [(f"output {key}", o.get("Value")) for key, o in self.active_outputs().items()]
        return out

    def problems(self) -> list[tuple[str, str]]:
        """(where, message) for each created resource or shown output CloudFormation would reject."""
        found: list[tuple[str, str]] = []
        for where, node in self.parts():
            try:
                self.evaluate_in(where, node)
            except TemplateProblem as exc:
                found.append((where, str(exc)))
        return found

    def outputs(self) -> dict[str, Any]:
        return {key: self.evaluate_in(f"output {key}", out.get("Value")) for key, out in self.active_outputs().items()}

    def export_names(self) -> dict[str, str]:
        """export name -> output key, for the outputs this stack would show with an Export.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html"""
        names: dict[str, str] = {}
        for key, out in self.active_outputs().items():
            if "Export" in out:
                name = self.evaluate_in(f"output {key}", (out["Export"] or {}).get("Name"))
                if not isinstance(name, Unresolved):
                    names[as_str(name)] = key
        return names


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return value.split(",") if value else []
    return [value]
