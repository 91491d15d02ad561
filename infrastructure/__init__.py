"""The default CloudFormation templates (vpc.yml, cluster.yml, ecs.yml).

This file only makes the folder the package data `harness.infrastructure` (setup.py maps it there),
so an installed harness finds its default templates from any folder; `harness init` copies the
templates, not this file.
"""
