"""The harness's Locust files (locustfile.py and the phases format it reads).

This file only makes the folder the package data `harness.loadtests` (setup.py maps it there), so an
installed harness finds its locustfile from any folder; Locust itself imports locustfile.py by path.
"""
