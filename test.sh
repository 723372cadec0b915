#!/usr/bin/env bash
# The test command: builds everything (warnings are errors) and runs every test project.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Sluice.slnx -c Release
dotnet test Sluice.slnx -c Release --no-build
