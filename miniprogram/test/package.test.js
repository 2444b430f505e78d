// What reaches a Mini Program: the npm package holds the client, its types,
// the generated rules and the component, and depends on nothing; the
// test-only packages stay devDependencies.
'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))

test('no runtime dependencies; the test tools are devDependencies, pinned', () => {
  assert.equal(pkg.dependencies, undefined)
  assert.deepEqual(Object.keys(pkg.devDependencies).sort(), ['jsdom', 'miniprogram-api-typings', 'miniprogram-simulate', 'typescript'])
  for (const v of Object.values(pkg.devDependencies)) assert.match(v, /^\d+\.\d+\.\d+$/, 'an exact version')
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'))
  for (const [name, p] of Object.entries(lock.packages)) {
    if (name.startsWith('node_modules/')) assert.equal(p.dev, true, name + ' is only for the tests')
  }
})

test('the packed files are the client, its types, the rules and the component', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 60000 })
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort()
  assert.deepEqual(files, ['analysis.d.ts', 'analysis.js', 'components/dashboard/chart.js', 'components/dashboard/dashboard.js',
    'components/dashboard/dashboard.json', 'components/dashboard/dashboard.wxml', 'components/dashboard/dashboard.wxss',
    'package.json', 'rules.js'])
})

test('the shipped JavaScript requires only its own files', () => {
  for (const file of ['analysis.js', 'rules.js', 'components/dashboard/chart.js', 'components/dashboard/dashboard.js']) {
    const src = fs.readFileSync(path.join(root, file), 'utf8')
    for (const m of src.matchAll(/require\(([^)]*)\)/g)) assert.match(m[1], /^'\.\.?\//, file + ' requires ' + m[1])
  }
})
