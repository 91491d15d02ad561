"""The documented shape of report.json: the JSON Schema `harness/report.schema.json` (shipped with the
package, so tools reading reports can check them) and a check of a report against it.

The report is written by `harness.report.write_report` from `harness.scenarios.runner.build_report`;
the tests check every report a real run writes against this schema, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema

from harness import resources

SCHEMA_FILE = "report.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((resources.package_root() / SCHEMA_FILE).read_text())
    return loaded


def problems(report: Any) -> list[str]:
    """Every way `report` (a parsed report.json) breaks the schema, one line each: the JSON path, the fault."""
    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'/'.join(str(p) for p in err.absolute_path) or '(top)'}: {err.message}"
            for err in sorted(validator.iter_errors(report), key=lambda e: [str(p) for p in e.absolute_path])]
