#!/usr/bin/env bash
# The main job, from a fresh clone: exports the built-in MiniLM model, makes a text dataset from
# this machine's licence texts, and embeds every line with the embedded (single-process) engine.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f src/Sluice.Cli/bin/Release/net10.0/sluice.dll ]; then
  echo "building sluice (Release; the first build restores packages and takes a minute or two)..." >&2
fi
dotnet run -c Release --project src/Sluice.Cli -- demo "$@"
