"""CloudFormation YAML: the short-form tags (!Ref, !Sub, !GetAtt, !If, ...) as their long forms.

One reader for both sides: the harness reads templates with it before deploying, and moto's
CloudFormation uses it too (harness.cloud.cfn.parsing), since moto's own tag constructor kept a tag
on a mapping as raw YAML nodes (`!GetAZs {Ref: AWS::Region}`, `!Sub [..., {...}]` mappings).
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

from typing import Any

import yaml


class CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form tags."""


def cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    """`!Name value` -> {"Fn::Name": value} (deeply constructed); !Ref and !Condition keep their names,
    and !GetAtt 'A.B' is the list [A, B]."""
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


CfnLoader.add_multi_constructor("!", cfn_tag)


def load_yaml(text: str) -> Any:
    """Parse a template (YAML or JSON); yaml.YAMLError on bad syntax."""
    return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
