// tsc --strict on a sample page that uses analysis.d.ts with
// miniprogram-api-typings, and on a page of mistakes it must catch.
'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tsc } = require('./helpers')

const sample = path.join(__dirname, 'sample')

test('a sample page compiles with tsc --strict', () => {
  const r = tsc([path.join(sample, 'page.ts')])
  assert.ok(r.ok, r.output)
})

test('each mistake in a page is a tsc error on its line', () => {
  const file = path.join(sample, 'mistakes.ts')
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const want = lines.map((l, i) => (l.includes('// MISTAKE') ? i + 1 : 0)).filter(Boolean)
  const r = tsc([file])
  assert.equal(r.ok, false, 'the mistakes compiled')
  const got = [...new Set([...r.output.matchAll(/mistakes\.ts\((\d+),\d+\): error TS/g)].map(m => Number(m[1])))]
  assert.deepEqual(got, want, r.output)
})

test('analysis.js is ES2017: transpiling it for ES2017 changes nothing that ESNext keeps', () => {
  const ts = require('typescript')
  for (const file of ['analysis.js', 'rules.js', 'components/dashboard/dashboard.js', 'components/dashboard/chart.js']) {
    const src = fs.readFileSync(path.join(__dirname, '..', file), 'utf8')
    const out = (target) => ts.transpileModule(src, { compilerOptions: { target, module: ts.ModuleKind.None, allowJs: true } }).outputText
    assert.equal(out(ts.ScriptTarget.ES2017), out(ts.ScriptTarget.ESNext), file + ' uses syntax newer than ES2017')
  }
})
