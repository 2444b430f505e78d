// helpers.js: what the Node tests share: the wx stand-in that forwards
// wx.cloud calls to the function serving HTTP, and tsc.
'use strict'
const { execFileSync } = require('node:child_process')
const path = require('node:path')

// target is the function under test: the binary serving HTTP on loopback,
// started by frontend_test.go (go test), which passes its address and key.
// Outside go test, and not under CI, the tests that need it are skipped.
function target () {
  const url = process.env.ANALYSIS_URL
  const key = process.env.ANALYSIS_KEY
  if (!url || !key) {
    if (process.env.CI === 'true') throw new Error('ANALYSIS_URL and ANALYSIS_KEY are not set: run these tests through `go test -run TestFrontEnd .`')
    return null
  }
  return { url, key }
}

// standIn is a wx whose cloud.callFunction and cloud.callContainer do what
// WeChat's do, over plain HTTP to the function: callFunction invokes the
// function named "analysis" with data as its event and resolves with
// {result}; callContainer POSTs data to the service's path and resolves with
// {data, statusCode, header}. Each call is recorded in calls.
function standIn (t, calls) {
  const post = async (path, body) => {
    const res = await fetch(t.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + t.key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20000)
    })
    const text = await res.text()
    let data = text
    if ((res.headers.get('content-type') || '').includes('json')) data = JSON.parse(text)
    return { status: res.status, data, header: Object.fromEntries(res.headers) }
  }
  return {
    cloud: {
      async callFunction (options) {
        calls && calls.push({ api: 'callFunction', options })
        if (options.name !== 'analysis') {
          // What WeChat answers for a function that does not exist.
          const err = new Error('cloud.callFunction:fail -501000 [ResourceNotFound.Function] function ' + options.name + ' not found')
          err.errCode = -501000
          err.errMsg = err.message
          throw err
        }
        const res = await post('/', options.data)
        return { result: res.data, errMsg: 'cloud.callFunction:ok', requestID: 'stand-in' }
      },
      async callContainer (options) {
        calls && calls.push({ api: 'callContainer', options })
        if (options.method !== 'POST' || !options.header || !options.header['X-WX-SERVICE']) {
          throw Object.assign(new Error('cloud.callContainer:fail bad request'), { errCode: -1, errMsg: 'cloud.callContainer:fail bad request' })
        }
        const res = await post(options.path, options.data)
        return { data: res.data, statusCode: res.status, header: res.header, errMsg: 'cloud.callContainer:ok' }
      }
    }
  }
}

const root = path.resolve(__dirname, '..')

// tsc runs the TypeScript compiler on files with --strict and no emit, and
// returns {ok, output}.
function tsc (files, extra) {
  const args = [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--noEmit', '--target', 'ES2017',
    '--lib', 'ES2017', '--types', 'miniprogram-api-typings',
    '--module', 'commonjs', '--moduleResolution', 'node', '--pretty', 'false'].concat(extra || [], files)
  try {
    return { ok: true, output: execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 180000 }) }
  } catch (e) {
    return { ok: false, output: String(e.stdout || '') + String(e.stderr || '') }
  }
}

module.exports = { target, standIn, tsc, root }
