"""The harness's LocalStack extension (installed into LocalStack's own Python >= 3.13 environment).

LocalStack's free edition answers ECS, ELBv2 and Application Auto Scaling with "not included in your
current license plan" and deploys their CloudFormation types as empty fallbacks. This package, found by
LocalStack through entry points (see pyproject.toml), makes it serve the harness's stack for real:

- `providers`: the three APIs, every operation sent to the moto that LocalStack bundles;
- `resource_providers`: their CloudFormation resource types (and AWS::EC2::SecurityGroupIngress, SecurityGroupEgress),
  backed by those APIs, with the GetAtts AWS gives;
- `hooks`: LocalStack's own CloudWatch alarm scheduler turned off, so that the harness's evaluator
  is the only thing that changes alarm states;
- `records`: what the harness did (alarm history, scaling activities, ECS tasks, target tracking alarms)
  kept and served by LocalStack with the harness's own code, as the embedded cloud does.
"""

VERSION = "0.1.0"
