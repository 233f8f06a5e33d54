#!/usr/bin/env bash
# Compiles contracts/*.sol with the pinned solc (solc-js from npm) and writes:
#   contracts/artifacts/<Contract>.json   abi, bytecode and the exact compiler, for every contract
#   x/compute/precompile/abi.json         ICompute's ABI, which the precompile embeds
# Go builds and tests never run this; they read the committed outputs.
set -euo pipefail
cd "$(dirname "$0")/.."

solc_version="0.8.37"
prefix="build/solc-$solc_version"
if [ ! -f "$prefix/node_modules/solc/package.json" ]; then
  command -v npm >/dev/null 2>&1 || { echo "contracts: npm is needed to fetch solc $solc_version" >&2; exit 1; }
  mkdir -p "$prefix"
  npm install --silent --no-audit --no-fund --prefix "$prefix" "solc@$solc_version" >/dev/null
fi
NODE_PATH="$prefix/node_modules" node scripts/contracts.js "$solc_version"
