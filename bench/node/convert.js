// Times wx-server-sdk's own key conversion (the copy installed in
// ../../conformance) on the same answers as the Go benchmarks, and the
// SDK's require time, the cold-start anchor. Prints one JSON object.
//
// Usage: node convert.js SEED_FILE PAGE_FILE
'use strict'

const fs = require('fs')
const path = require('path')
const Module = require('module')
const { spawnSync } = require('child_process')

const conformance = path.join(__dirname, '..', '..', 'conformance')
const sdkDir = path.dirname(require.resolve('wx-server-sdk/package.json', { paths: [conformance] }))

// The SDK is one webpack bundle; load it with its module loader returned
// instead of its entry point, to reach src/utils/utils.ts unchanged.
function sdkModules () {
  const file = path.join(sdkDir, 'index.js')
  const entry = 'return __webpack_require__(__webpack_require__.s = "./src/index.ts");'
  const src = fs.readFileSync(file, 'utf8')
  if (!src.includes(entry)) throw new Error('unexpected wx-server-sdk bundle')
  const m = new Module(file, module)
  m.filename = file
  m.paths = Module._nodeModulePaths(sdkDir)
  m._compile(src.replace(entry, 'return __webpack_require__;'), file)
  return m.exports
}

function time (fn, minMs) {
  for (let i = 0; i < 200; i++) fn() // warm up the JIT
  let n = 0
  const start = process.hrtime.bigint()
  let elapsed = 0n
  do {
    for (let i = 0; i < 100; i++) fn()
    n += 100
    elapsed = process.hrtime.bigint() - start
  } while (elapsed < BigInt(minMs) * 1000000n)
  return Number(elapsed) / n // ns per op
}

function requireTimes (runs) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['-e',
      `const t=process.hrtime.bigint();require(${JSON.stringify(sdkDir)});process.stdout.write(String(process.hrtime.bigint()-t))`],
    { encoding: 'utf8', env: { ...process.env, TENCENTCLOUD_REGION: 'ap-shanghai' } })
    times.push(Number(r.stdout) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

function main () {
  const [seedFile, pageFile] = process.argv.slice(2)
  const utils = sdkModules()('./src/utils/utils.ts')
  const JSONBigInt = require(require.resolve('json-bigint', { paths: [sdkDir] }))
  const options = { from: 'snakecase', to: 'camelcase', recursive: true }
  const out = {
    node: process.version,
    sdk: require(path.join(sdkDir, 'package.json')).version,
    require_ms: requireTimes(7)
  }
  for (const [name, file] of [['seed', seedFile], ['page', pageFile]]) {
    const text = fs.readFileSync(file, 'utf8')
    const parsed = JSONBigInt.parse(text)
    out[name + '_bytes'] = Buffer.byteLength(text)
    // The conversion alone, object to object, as the SDK runs it.
    out[name + '_convert_ns'] = time(() => utils.convertCase(parsed, options), 500)
    // Text to text, as our casing package works: parse, convert, serialise.
    out[name + '_text_ns'] = time(() => JSON.stringify(utils.convertCase(JSONBigInt.parse(text), options)), 500)
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main()
