#!/bin/sh
# Re-synthesize the checked-in templates from app.js: aws-cdk-lib from the npm registry, installed in a
# temporary directory (no node_modules here), then `node app.js` (what `cdk synth` runs) and each
# stack's template copied beside this script as sorted, indented JSON so a re-run diffs cleanly.
# Usage: tests/data/cdk/synth.sh     (needs node >= 18 and npm)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cp "$here/app.js" "$here/package.json" "$work/"
(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
(cd "$work" && CDK_OUTDIR="$work/cdk.out" CDK_DISABLE_VERSION_CHECK=1 node app.js)
for t in "$work"/cdk.out/*.template.json; do
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=1, sort_keys=True); open(sys.argv[2], "a").write("\n")' \
    "$t" "$here/$(basename "$t")"
  echo "synthesized $(basename "$t")"
done
