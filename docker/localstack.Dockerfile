# A real LocalStack with the harness's extension (harness/localstack_ext/) installed, for the
# `localstack` profile of docker-compose.yml. The extension serves ECS, ELBv2 and Application Auto
# Scaling from LocalStack's bundled moto, adds their CloudFormation resource providers, and turns
# LocalStack's own alarm scheduler off (the harness's evaluator must be the only one).
#
# Needs a registry (the base image) and, since March 2026, LOCALSTACK_AUTH_TOKEN at run time: this
# is validated with `docker-compose config` only on machines without one. The version is the one the
# extension was written against (harness/cloud/localstack.py: LOCALSTACK_VERSION).
ARG LOCALSTACK_IMAGE=localstack/localstack:2026.3.0
FROM ${LOCALSTACK_IMAGE}

# As `--cloud localstack` does on the host: the extension goes into its own folder with `pip --target`
# and is put on PYTHONPATH, where LocalStack's plugin loader (plux) finds its entry points
# (localstack.aws.provider, localstack.cloudformation.resource_providers, localstack.hooks.on_infra_start).
# Build context: the repository (see docker-compose.yml). Builds need `network: host`.
COPY harness/localstack_ext /tmp/harness-localstack-ext
RUN /opt/code/localstack/.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps \
      --target /opt/harness-localstack-ext /tmp/harness-localstack-ext \
 && rm -rf /tmp/harness-localstack-ext
# The extension serves alarm history, scaling activities, ECS tasks and target tracking alarms with the
# harness's own code (harness/cloud/): the harness package goes beside it, as `--cloud localstack` links it.
COPY harness /opt/harness-package/harness
ENV PYTHONPATH=/opt/harness-localstack-ext:/opt/harness-package
