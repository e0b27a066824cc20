#!/usr/bin/env bash
# Refreshes the vendored Scalar API Reference bundle served at /docs.
# Usage: crates/api/assets/scalar/update.sh 1.72.1
# Then update SCALAR_VERSION in crates/api/src/openapi/ui.rs and the table in README.md here.
set -euo pipefail
version="${1:?usage: update.sh VERSION}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@scalar/api-reference@$version" >/dev/null && tar xzf ./*.tgz)
grep -q '"license": "MIT"' "$work/package/package.json"
gzip -9 -n -c "$work/package/dist/browser/standalone.js" > "$here/standalone.js.gz"
sha256sum "$work/package/dist/browser/standalone.js"
