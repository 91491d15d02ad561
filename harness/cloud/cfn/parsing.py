"""Where moto's template parsing differs from CloudFormation's, made to agree (in the moto process).

moto evaluates intrinsics in `moto.cloudformation.parsing.clean_json`, which recurses through the
module-level name, so wrapping that name fixes every nested use:
- `AWS::NoValue` in a list removes the item (moto kept it as None, and models crashed on `a["Key"]`);
- `Fn::Cidr` (moto left it unevaluated) and `Fn::GetAZs` of a `Ref` (moto formatted the dict as a region)
  are computed by the same pure functions the harness checks templates with (`harness.cfn`);
- an output value that is not a string (`Value: 2`) is the string CloudFormation shows (moto answered
  DescribeStacks with an HTTP 500);
- a resource that fails to create fails the CreateStack call with its logical id.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

from typing import Any

from harness.cfn.evaluate import as_str, cidr, get_azs
from harness.cloud.cfn import failed_stacks

FAILED_RESOURCE_PREFIX = "Resource "


def apply(parsing: Any) -> None:
    """Patch moto's parsing module once (idempotent)."""
    if getattr(parsing, "_harness_patched", False):
        return
    _clean_json(parsing)
    _string_outputs(parsing)
    _name_failing_resources(parsing)
    _exports_after_resources()
    _yaml_short_forms()
    failed_stacks.apply()
    parsing._harness_patched = True


def _yaml_short_forms() -> None:
    """moto registers its `yaml_tag_constructor` before each YAML load, by the name each of its modules
    imported; that constructor kept a tag on a mapping as raw YAML nodes. Each name now refers to the
    harness's reader of short forms, which constructs every tag's value deeply."""
    import moto.cloudformation.models as models
    import moto.cloudformation.responses as responses
    import moto.cloudformation.utils as utils

    from harness.cfn.loader import cfn_tag

    def yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
        return cfn_tag(loader, tag[1:] if tag.startswith("!") else tag, node)

    for module in (models, responses, utils):
        module.yaml_tag_constructor = yaml_tag_constructor  # type: ignore[attr-defined]


def _exports_after_resources() -> None:
    """CloudFormation evaluates outputs (and so exports) once the resources exist; moto evaluated the
    exports before creating anything, so an export of `GetAtt VPC.Ipv6CidrBlocks` (filled by a
    VPCCidrBlock) saw an empty list. Creating the resources first (moto's map caches them, so its own
    create that follows finds them made) gives the exports their real values."""
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend._validate_export_uniqueness

    def _validate_export_uniqueness(self: Any, stack: Any) -> None:
        stack.resource_map.create(stack.template_dict)
        original(self, stack)

    CloudFormationBackend._validate_export_uniqueness = _validate_export_uniqueness  # type: ignore[method-assign]


def _clean_json(parsing: Any) -> None:
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            # "AWS::NoValue ... removes the corresponding resource property" - in a list, the item.
            items = (clean_json(item, resources_map) for item in resource_json)
            return [item for item in items if item is not None]
        if isinstance(resource_json, dict) and len(resource_json) == 1:
            if "Fn::Cidr" in resource_json:
                block, count, bits = (clean_json(a, resources_map) for a in resource_json["Fn::Cidr"])
                return cidr(str(block), int(count), int(bits))
            if "Fn::GetAZs" in resource_json:
                region = clean_json(resource_json["Fn::GetAZs"], resources_map)
                return get_azs(str(region or resources_map["AWS::Region"]))
            if "Fn::Length" in resource_json:
                value = clean_json(resource_json["Fn::Length"], resources_map)
                return len(value) if isinstance(value, list) else 1
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _string_outputs(parsing: Any) -> None:
    original = parsing.parse_output

    def parse_output(output_logical_id: str, output_json: Any, resources_map: Any) -> Any:
        output = original(output_logical_id, output_json, resources_map)
        if output is not None and not isinstance(output.value, str):
            # Outputs are strings: a number or boolean is shown as written, a list comma-joined.
            output.value = as_str(output.value)
        return output

    parsing.parse_output = parse_output

    validate = parsing.ResourceMap.validate_outputs
    if getattr(validate, "_harness_wrapped", False):
        return

    def validate_outputs(self: Any) -> None:
        # moto's check does `"Fn::GetAtt" in value` and so raised TypeError (HTTP 500) on `Value: 2`;
        # a number or boolean value names no resource attribute, so there is nothing to validate.
        outputs = self._template.get("Outputs")
        if not isinstance(outputs, dict):
            return validate(self)  # type: ignore[no-any-return]
        self._template["Outputs"] = {k: v for k, v in outputs.items()
                                     if not isinstance(v, dict) or isinstance(v.get("Value", {}), (dict, list, str))}
        try:
            validate(self)
        finally:
            self._template["Outputs"] = outputs

    validate_outputs._harness_wrapped = True  # type: ignore[attr-defined]
    parsing.ResourceMap.validate_outputs = validate_outputs


def _name_failing_resources(parsing: Any) -> None:
    """Make a resource that fails to create fail the CreateStack call with its logical id.

    moto records no per-resource events and lets the backend's exception escape as the whole
    call's error (often an HTTP 500), so the user could not tell which resource broke. Wrapping moto's
    module-level `parse_and_create_resource` (resolved at call time) adds the name; the error is
    otherwise unchanged. Message: "Resource <LogicalId> (<Type>) failed to create: <reason>".
    """
    from moto.cloudformation.exceptions import ValidationError

    original = parsing.parse_and_create_resource

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        try:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as exc:
            if getattr(exc, "_harness_named", False):
                raise  # a dependency failed and is already named
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            named = ValidationError(
                message=f"{FAILED_RESOURCE_PREFIX}{logical_id} ({resource_json.get('Type')}) failed to create: {reason}"
            )
            named._harness_named = True  # type: ignore[attr-defined]
            raise named from exc

    parsing.parse_and_create_resource = parse_and_create_resource
