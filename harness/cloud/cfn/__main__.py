"""`python3 -m harness.cloud.cfn [TYPE ...]`: which resource types the embedded cloud creates, and how
(real: a moto resource the AWS API shows; stored: kept by the harness with AWS's Ref and GetAtt;
refused: deploy names it before creating anything)."""

from __future__ import annotations

import sys

from harness.cloud.cfn import kinds


def main(argv: list[str]) -> int:
    table = kinds()
    for type_name in argv or sorted(table):
        print(f"{type_name}\t{table.get(type_name, 'refused')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
