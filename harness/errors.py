"""The harness's errors: few, layered, each naming the culprit (resource, parameter, file or port).

    HarnessError                 anything the harness reports to the user and exits non-zero for
    ├── ConfigError              bad command-line input or a file that cannot be read
    ├── CloudError               the AWS endpoint cannot be started or reached (e.g. port taken)
    ├── DeployError              a stack failed to deploy; carries the failing resource and reason
    │   ├── TemplateError        a template does not parse or is not a CloudFormation template
    │   └── ParameterError       a parameter is missing or breaks its constraints
    └── TaskError                a task cannot be started (runtime, port, command)
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class. `str(err)` is a complete sentence for the user."""

    exit_code = 1


class ConfigError(HarnessError):
    exit_code = 2


class CloudError(HarnessError):
    pass


class DeployError(HarnessError):
    def __init__(self, message: str, *, stack: str | None = None, resource: str | None = None) -> None:
        super().__init__(message)
        self.stack = stack
        self.resource = resource


class TemplateError(DeployError):
    pass


class ParameterError(DeployError):
    pass


class TaskError(HarnessError):
    pass
