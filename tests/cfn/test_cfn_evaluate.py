"""CloudFormation's evaluation before deploy, from the cases AWS documents (each table cites its page)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cfn import NO_VALUE, Evaluator, Pseudo, TemplateProblem, Unresolved, cidr, typed_parameters


def ev(template: dict[str, Any], params: dict[str, str] | None = None, exports: dict[str, str] | None = None,
       stack: str = "svc") -> Evaluator:
    template = {"Resources": {"R": {"Type": "AWS::SNS::Topic"}}, **template}
    return Evaluator(template, typed_parameters(template, params or {}), Pseudo(stack), exports)


# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-conditions.html
CONDITIONS = [
    ({"Fn::Equals": ["a", "a"]}, {}, True),
    ({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, {"Env": "prod"}, True),
    ({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, {"Env": "test"}, False),
    ({"Fn::Not": [{"Fn::Equals": [{"Ref": "Env"}, ""]}]}, {"Env": ""}, False),  # the widdix "HasX" idiom
    ({"Fn::And": [{"Fn::Equals": ["1", "1"]}, {"Condition": "Other"}]}, {}, False),
    ({"Fn::Or": [{"Fn::Equals": ["1", "2"]}, {"Fn::Not": [{"Condition": "Other"}]}]}, {}, True),
    ({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}, {}, True),
    ({"Fn::Equals": [True, "true"]}, {}, True),  # both sides compared as CloudFormation's strings
]


@pytest.mark.parametrize(("expr", "params", "expected"), CONDITIONS)
def test_conditions(expr: Any, params: dict[str, str], expected: bool) -> None:
    declared = {name: {"Type": "String"} for name in params}
    e = ev({"Parameters": declared, "Conditions": {"C": expr, "Other": {"Fn::Equals": ["x", "y"]}}}, params)
    assert e.conditions["C"] is expected


def test_condition_errors_name_the_condition() -> None:
    with pytest.raises(TemplateProblem, match="condition Loop depends on itself"):
        ev({"Conditions": {"Loop": {"Fn::Not": [{"Condition": "Loop"}]}}})
    with pytest.raises(TemplateProblem, match="condition Missing is not declared"):
        ev({"Conditions": {"C": {"Condition": "Missing"}}})


# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html (each page)
VALUES = [
    # Fn::Join: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-join.html
    ({"Fn::Join": [":", ["a", "b", "c"]]}, "a:b:c"),
    ({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::bucket"]]}, "arn:aws:s3:::bucket"),
    # Fn::Split: ...-split.html
    ({"Fn::Split": ["|", "a|b|c"]}, ["a", "b", "c"]),
    ({"Fn::Select": [2, {"Fn::Split": [",", "a,b,c"]}]}, "c"),
    # Fn::Select: ...-select.html
    ({"Fn::Select": ["1", ["apples", "grapes", "oranges", "mangoes"]]}, "grapes"),
    ({"Fn::Select": [0, {"Fn::GetAZs": ""}]}, "us-east-1a"),
    # Fn::Sub: ...-sub.html
    ({"Fn::Sub": ["www.${Domain}", {"Domain": "example.com"}]}, "www.example.com"),
    ({"Fn::Sub": "arn:aws:ec2:${AWS::Region}:${AWS::AccountId}:vpc/x"}, "arn:aws:ec2:us-east-1:123456789012:vpc/x"),
    ({"Fn::Sub": "${!Literal}-${AWS::StackName}"}, "${Literal}-svc"),
    # Fn::FindInMap: ...-findinmap.html
    ({"Fn::FindInMap": ["RegionMap", {"Ref": "AWS::Region"}, "HVM64"]}, "ami-0ff8a91507f77f867"),
    # Fn::Base64: ...-base64.html
    ({"Fn::Base64": "AWS CloudFormation"}, "QVdTIENsb3VkRm9ybWF0aW9u"),
    # Fn::GetAZs: ...-getavailabilityzones.html ('' is the stack's region)
    ({"Fn::GetAZs": {"Ref": "AWS::Region"}}, ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]),
    # Fn::Cidr: ...-cidr.html: "!Cidr [ 192.168.0.0/24, 6, 5 ]" gives six /27s
    ({"Fn::Cidr": ["192.168.0.0/24", 6, 5]},
     ["192.168.0.0/27", "192.168.0.32/27", "192.168.0.64/27", "192.168.0.96/27", "192.168.0.128/27",
      "192.168.0.160/27"]),
    ({"Fn::Select": [1, {"Fn::Cidr": ["2600:1f18:abcd:1200::/56", 4, 64]}]}, "2600:1f18:abcd:1201::/64"),
    # AWS::NoValue removes a property and a list item: ...-conditions.html#intrinsic-function-reference-conditions-if
    ({"A": {"Ref": "AWS::NoValue"}, "B": 1}, {"B": 1}),
    ([{"Fn::If": ["No", {"Key": "x"}, {"Ref": "AWS::NoValue"}]}, {"Key": "y"}], [{"Key": "y"}]),
    ({"Fn::If": ["Yes", "taken", {"Fn::ImportValue": "never-evaluated"}]}, "taken"),
]


@pytest.mark.parametrize(("node", "expected"), VALUES)
def test_intrinsic_values(node: Any, expected: Any) -> None:
    e = ev({
        "Mappings": {"RegionMap": {"us-east-1": {"HVM64": "ami-0ff8a91507f77f867"}}},
        "Conditions": {"Yes": {"Fn::Equals": ["1", "1"]}, "No": {"Fn::Equals": ["1", "2"]}},
    })
    assert e.evaluate(node) == expected


def test_values_known_only_after_creation_stay_unresolved() -> None:
    e = ev({})
    assert isinstance(e.evaluate({"Ref": "R"}), Unresolved)
    assert isinstance(e.evaluate({"Fn::GetAtt": ["R", "TopicName"]}), Unresolved)
    assert isinstance(e.evaluate({"Fn::Join": ["-", [{"Ref": "R"}, "x"]]}), Unresolved)
    assert isinstance(e.evaluate({"Fn::Sub": "${R.TopicName}"}), Unresolved)
    assert e.evaluate({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_list_parameters_are_lists() -> None:
    t = {"Parameters": {"Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"}, "Names": {"Type": "CommaDelimitedList"}}}
    e = ev(t, {"Subnets": "subnet-1,subnet-2", "Names": "a, b"})
    assert e.evaluate({"Ref": "Subnets"}) == ["subnet-1", "subnet-2"]
    assert e.evaluate({"Fn::Select": [1, {"Ref": "Names"}]}) == "b"


def test_resources_and_outputs_under_a_false_condition_are_left_out() -> None:
    t = {
        "Parameters": {"ParentAlertStack": {"Type": "String", "Default": ""}},
        "Conditions": {"HasAlert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ParentAlertStack"}, ""]}]}},
        "Resources": {
            "Waf": {"Type": "AWS::WAFv2::WebACLAssociation", "Condition": "HasAlert",
                    "Properties": {"WebACLArn": {"Fn::ImportValue": {"Fn::Sub": "${ParentAlertStack}-Acl"}}}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "AlarmActions": [{"Fn::If": ["HasAlert", {"Fn::ImportValue": {"Fn::Sub": "${ParentAlertStack}-TopicARN"}},
                                             {"Ref": "AWS::NoValue"}]}]}},
        },
        "Outputs": {"Topic": {"Condition": "HasAlert", "Value": {"Fn::ImportValue": "x"},
                              "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-T"}}}},
    }
    off = Evaluator(t, {"ParentAlertStack": ""}, Pseudo("svc"))
    assert list(off.active_resources()) == ["Alarm"]
    assert off.imports() == []
    assert dict(off.evaluated_resources())["Alarm"]["Properties"] == {"AlarmActions": []}
    assert off.export_names() == {}
    on = Evaluator(t, {"ParentAlertStack": "alert"}, Pseudo("svc"), exports={"alert-TopicARN": "arn:aws:sns:t"})
    assert set(on.active_resources()) == {"Waf", "Alarm"}
    assert [name for _, name in on.imports()] == ["alert-Acl", "alert-TopicARN", "x"]
    assert dict(on.evaluated_resources())["Alarm"]["Properties"] == {"AlarmActions": ["arn:aws:sns:t"]}
    assert on.export_names() == {"svc-T": "Topic"}


def test_a_ref_to_a_resource_left_out_is_a_problem() -> None:
    t = {"Conditions": {"No": {"Fn::Equals": ["1", "2"]}},
         "Resources": {"A": {"Type": "AWS::SNS::Topic", "Condition": "No"},
                       "B": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "A"}}}}}
    with pytest.raises(TemplateProblem, match="resource B refers to A, which its Condition leaves out"):
        list(Evaluator(t, {}, Pseudo("s")).evaluated_resources())


def test_rules_as_cdk_emits_them() -> None:
    """CDK's CheckBootstrapVersion rule.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html"""
    rule = {"CheckBootstrapVersion": {"Assertions": [{
        "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
        "AssertDescription": "CDK bootstrap stack version 6 required."}]}}
    t = {"Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}}, "Rules": rule}
    assert Evaluator(t, {"BootstrapVersion": "21"}, Pseudo("s")).rule_failures() == []
    assert Evaluator(t, {"BootstrapVersion": "4"}, Pseudo("s")).rule_failures() == [
        "rule CheckBootstrapVersion: CDK bootstrap stack version 6 required."]


def test_cidr_limits() -> None:
    with pytest.raises(TemplateProblem, match="do not fit"):
        cidr("10.0.0.0/24", 2, 9)
    with pytest.raises(TemplateProblem, match="holds only 2"):
        cidr("10.0.0.0/24", 3, 7)


def test_select_out_of_range_names_the_resource() -> None:
    t = {"Resources": {"Sub": {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": {
        "Fn::Select": [7, {"Fn::GetAZs": ""}]}}}}}
    with pytest.raises(TemplateProblem, match="resource Sub: Fn::Select index 7 is out of range"):
        list(Evaluator(t, {}, Pseudo("s")).evaluated_resources())


def test_problems_are_listed_per_part_and_imports_still_found() -> None:
    t = {"Conditions": {"No": {"Fn::Equals": ["1", "2"]}},
         "Resources": {"A": {"Type": "AWS::SNS::Topic", "Condition": "No"},
                       "B": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "A"}}},
                       "C": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": "x-Name"}}}},
         "Outputs": {"O": {"Value": {"Fn::GetAtt": ["A", "TopicName"]}}}}
    e = Evaluator(t, {}, Pseudo("s"))
    assert [where for where, _ in e.problems()] == ["resource B", "output O"]
    assert e.imports() == [("resource C", "x-Name")]
