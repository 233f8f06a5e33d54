// Compiles contracts/*.sol through solc's standard JSON interface; see scripts/contracts.sh.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const want = process.argv[2];
const version = solc.version();
if (!version.startsWith(want + "+")) {
  throw new Error(`contracts: solc ${version} is not the pinned ${want}`);
}

const dir = "contracts";
const sources = {};
for (const name of fs.readdirSync(dir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[`${dir}/${name}`] = { content: fs.readFileSync(path.join(dir, name), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    // the chain runs Prague (cosmos/evm v0.7 turns Osaka off)
    evmVersion: "prague",
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

const json = (v) => JSON.stringify(v, null, 2) + "\n";
fs.mkdirSync(path.join(dir, "artifacts"), { recursive: true });
for (const file of Object.keys(output.contracts).sort()) {
  for (const name of Object.keys(output.contracts[file]).sort()) {
    const c = output.contracts[file][name];
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: { name: "solc", version, evmVersion: input.settings.evmVersion, optimizerRuns: 200 },
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(dir, "artifacts", `${name}.json`), json(artifact));
    if (name === "ICompute") {
      fs.writeFileSync("x/compute/precompile/abi.json", json(c.abi));
    }
    console.log(`contracts: ${file}:${name}`);
  }
}
