// Rebuilds tools/devnet/artifacts/*.json (ABI + creation bytecode) from contracts/*.sol with solc-js.
// Only needed after editing a contract; tests and the deploy script read the committed artifacts.
//   cd tools/devnet && npm install && node build.mjs
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const here = dirname(fileURLToPath(import.meta.url))
const srcDir = join(here, 'contracts')
const outDir = join(here, 'artifacts')
const sources = {}
for (const f of readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[f] = { content: readFileSync(join(srcDir, f), 'utf8') }
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    viaIR: true,
    evmVersion: 'shanghai',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
}
const out = JSON.parse(solc.compile(JSON.stringify(input)))
const errors = (out.errors || []).filter((e) => e.severity === 'error')
for (const e of out.errors || []) console.error(e.formattedMessage)
if (errors.length) process.exit(1)
mkdirSync(outDir, { recursive: true })
for (const [file, contracts] of Object.entries(out.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!c.evm.bytecode.object) continue // interfaces
    const artifact = {
      contractName: name,
      sourceFile: `contracts/${file}`,
      sourceSha256: createHash('sha256').update(sources[file].content).digest('hex'),
      compiler: `solc-js ${solc.version()}`,
      settings: { optimizer: input.settings.optimizer, viaIR: input.settings.viaIR, evmVersion: input.settings.evmVersion },
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
    }
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(artifact, null, 1) + '\n')
    console.log(`${name}: ${c.evm.bytecode.object.length / 2} bytes`)
  }
}
