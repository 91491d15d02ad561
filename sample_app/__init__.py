"""The service's task: a tiny HTTP app with levers for CPU load and 5XX errors.

It stands in for the container the CloudFormation template runs, so the harness can drive the
service's CPU alarm (`/cpu`) and its 5XX alarms (`/error`) on purpose. Standard library only.
"""
