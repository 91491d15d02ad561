"""Model mode: a day (or a week) of traffic through the stack's own alarms and policies, in seconds.

Live runs prove the mechanics with real processes in about a minute; capacity planning asks about days
of traffic and what-ifs. The model reads the stack once from the embedded cloud, then runs the live
runs' pure decisions (alarm evaluation, step and target-tracking scaling, the scheduler's plan, health
transitions) on a virtual clock, with the load rules of `rules.py` written down as assumptions.

- `traffic`: CSV traces and named shapes, one offered rate per minute;
- `rules`: capacity, start-up, queueing, utilization and cost (pure, tested from tables);
- `engine`: the loop (`run_model`);
- `outputs`: figures, expectations, the report dict;
- `stacks`: deploy, read back, delete (the only part that talks to a cloud, before the loop);
- `sweep`: what-if sweeps over template parameters;
- `cli`: `harness model` and `harness calibrate`.
"""
