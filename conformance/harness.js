// Runs the official wx-server-sdk against canned upstream answers and writes,
// for each case of cases.json, what the SDK sent upstream and what a Node
// cloud function returning its result (or `catch (err) { return err }`)
// gives the Mini Program: golden/<case>.json.
//
// The SDK reaches WeChat through the cloud-call gateway: a multipart POST to
// the URL in TCB_CONTEXT_CNFG, whose requestData is a protobuf CommApiData,
// answered by a protobuf CommOpenApiResp. A small fake of that gateway stands
// in for it here, protobuf by hand.
'use strict'

const http = require('http')
const fs = require('fs')
const path = require('path')
const { spawn } = require('child_process')

// ---- protobuf, the few wire types these messages use ----

function readVarint (buf, pos) {
  let value = 0n
  let shift = 0n
  for (;;) {
    const b = buf[pos++]
    value |= BigInt(b & 0x7f) << shift
    if (!(b & 0x80)) return [value, pos]
    shift += 7n
  }
}

// fields decodes a message into [{field, wire, value}], value a Buffer for
// length-delimited fields and a BigInt for varints.
function fields (buf) {
  const out = []
  let pos = 0
  while (pos < buf.length) {
    let tag
    ;[tag, pos] = readVarint(buf, pos)
    const field = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if (wire === 0) {
      let v
      ;[v, pos] = readVarint(buf, pos)
      out.push({ field, wire, value: v })
    } else if (wire === 2) {
      let len
      ;[len, pos] = readVarint(buf, pos)
      out.push({ field, wire, value: buf.subarray(pos, pos + Number(len)) })
      pos += Number(len)
    } else {
      throw new Error('unexpected wire type ' + wire)
    }
  }
  return out
}

function varint (n) {
  const bytes = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    bytes.push(b)
  } while (n)
  return Buffer.from(bytes)
}

function lengthDelimited (field, buf) {
  return Buffer.concat([varint((field << 3) | 2), varint(buf.length), buf])
}

// upstreamBody rebuilds the JSON body the gateway sends WeChat from the
// CommApiData pairs: each top-level key with the JSON text of its value.
function upstreamBody (requestData) {
  const openapiData = fields(requestData).find(f => f.field === 2)
  const pairs = openapiData ? fields(openapiData.value).filter(f => f.field === 1) : []
  const members = pairs.map(p => {
    const kv = fields(p.value)
    const key = kv.find(f => f.field === 1).value.toString()
    const value = kv.find(f => f.field === 2).value.toString()
    return JSON.stringify(key) + ':' + value
  })
  return '{' + members.join(',') + '}'
}

// ---- multipart/form-data, as the SDK's form-data sends it ----

function formFields (body, contentType) {
  const boundary = '--' + /boundary=([^;]+)/.exec(contentType)[1]
  const out = {}
  let start = body.indexOf(boundary)
  while (start !== -1) {
    const next = body.indexOf(boundary, start + boundary.length)
    if (next === -1) break
    const part = body.subarray(start + boundary.length + 2, next - 2)
    const headerEnd = part.indexOf('\r\n\r\n')
    const headers = part.subarray(0, headerEnd).toString()
    const name = /name="([^"]+)"/.exec(headers)[1]
    out[name] = part.subarray(headerEnd + 4)
    start = next
  }
  return out
}

// ---- the fake gateway ----

let current = null // the case being run
let seen = null // what the SDK sent for it

const gateway = http.createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    const form = formFields(Buffer.concat(chunks), req.headers['content-type'])
    seen = {
      action: form.action && form.action.toString(),
      apiName: form.apiName && form.apiName.toString(),
      body: form.requestData ? upstreamBody(form.requestData) : null
    }
    const answer = Buffer.concat([
      lengthDelimited(1, Buffer.from(current.body, 'utf8')),
      lengthDelimited(2, Buffer.from(current.contentType, 'utf8'))
    ])
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.end(answer)
  })
})

async function main () {
  const dir = __dirname
  const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'))
  await new Promise(resolve => gateway.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${gateway.address().port}/admin`

  process.env.TCB_CONTEXT_KEYS = 'TCB_CONTEXT_CNFG'
  process.env.TCB_CONTEXT_CNFG = JSON.stringify({ URL: url })
  process.env.TENCENTCLOUD_SECRETID = 'conformance-secret-id'
  process.env.TENCENTCLOUD_SECRETKEY = 'conformance-secret-key'
  process.env.TENCENTCLOUD_RUNENV = 'SCF'
  process.env.TENCENTCLOUD_REGION = 'ap-shanghai'
  process.env.TCB_ENV = process.env.SCF_NAMESPACE = 'conformance'

  const cloud = require('wx-server-sdk')
  cloud.init({ env: 'conformance' })

  const out = path.join(dir, 'golden')
  fs.mkdirSync(out, { recursive: true })
  const names = new Set()
  for (const c of cases) {
    if (names.has(c.name)) throw new Error('duplicate case ' + c.name)
    names.add(c.name)
    current = c
    seen = null
    const method = c.action
    let result
    let threw = false
    try {
      // What a cloud function does: return the result, or the error.
      result = await cloud.openapi.analysis[method](c.data)
    } catch (err) {
      result = err
      threw = true
    }
    if (!seen) throw new Error(c.name + ': the SDK did not call the gateway')
    const golden = {
      name: c.name,
      apiName: seen.apiName,
      request: JSON.parse(seen.body),
      threw,
      // JSON, as the Mini Program receives it: an Error's own enumerable fields.
      result: JSON.parse(JSON.stringify(result))
    }
    fs.writeFileSync(path.join(out, c.name + '.json'), JSON.stringify(golden, null, 2) + '\n')
  }
  for (const f of fs.readdirSync(out, { withFileTypes: true })) {
    if (f.isFile() && !names.has(f.name.replace(/\.json$/, ''))) fs.unlinkSync(path.join(out, f.name))
  }
  gateway.close()
  console.log(`conformance: ${cases.length} cases recorded with wx-server-sdk ${require('wx-server-sdk/package.json').version}`)
  await recordGateway(path.join(out, 'gateway'))
}

if (process.env.WXA_GATEWAY_CHILD) {
  gatewayChild()
} else {
  main().catch(err => {
    console.error(err)
    process.exit(1)
  })
}

// ---- the gateway itself: raw requests and outcomes (golden/gateway/) ----
//
// Each case runs the SDK in a child process of its own (this file, with
// WXA_GATEWAY_CHILD set), so that its request counter starts at 1, under a
// pinned clock and multipart boundary, with the case's environment only. Its
// connections go to a recorder of the case's own, whatever the host (the Host
// header and the signature stay the production ones), which keeps the raw
// request (request line, headers in wire order, the body de-chunked) and gives
// the case's answer. golden/gateway/<case>.json holds the inputs, the request
// and the SDK's outcome; the Go tests replay them without Node.

const NOW = 1700000000123 // ms; §4's test vector
const BOUNDARY = '--------------------------0123456789abcdef01234567'

function tag (field, wire) { return varint((field << 3) | wire) }

function varint64 (n) { // any int32, negative ones as ten bytes, as protobufjs writes them
  let v = BigInt.asUintN(64, BigInt(n))
  const bytes = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v) b |= 0x80
    bytes.push(b)
  } while (v)
  return Buffer.from(bytes)
}

// commOpenApiResp encodes the gateway's answer message.
function commOpenApiResp ({ respData, contentType, errorCode, httpCode, headers }) {
  const parts = []
  if (respData !== undefined) parts.push(lengthDelimited(1, Buffer.from(respData)))
  if (contentType !== undefined) parts.push(lengthDelimited(2, Buffer.from(contentType)))
  if (errorCode !== undefined) parts.push(tag(3, 0), varint64(errorCode))
  if (httpCode !== undefined) parts.push(tag(4, 0), varint64(httpCode))
  for (const [k, v] of headers || []) {
    parts.push(lengthDelimited(5, Buffer.concat([lengthDelimited(1, Buffer.from(k)), lengthDelimited(2, Buffer.from(v))])))
  }
  return Buffer.concat(parts)
}

const retain = '{"ref_date":"20170306-20170312","visit_uv_new":[{"key":0,"value":16853}],"visit_uv":[{"key":0,"value":99310}]}'
const reply = (status, contentType, body, extra) => ({
  kind: 'reply', status, headers: [...(contentType ? ['Content-Type: ' + contentType] : []), ...(extra || [])], body: Buffer.from(body)
})
const pb = msg => reply(200, 'application/octet-stream', commOpenApiResp(msg))
const ok = pb({ respData: retain, contentType: 'application/json; charset=utf-8' })
const jsonAnswer = body => reply(200, 'application/json; charset=utf-8', body)

const week = { beginDate: '20170306', endDate: '20170312' }
const weekWire = '{"begin_date":"20170306","end_date":"20170312"}'
const processEnv = {
  TENCENTCLOUD_RUNENV: 'SCF',
  TENCENTCLOUD_REGION: 'ap-shanghai',
  SCF_NAMESPACE: 'test-env-1a2b3c',
  TENCENTCLOUD_SECRETID: 'AKIDtestsecretid',
  TENCENTCLOUD_SECRETKEY: 'testsecretkey',
  TENCENTCLOUD_SESSIONTOKEN: 'testsessiontoken'
}
const invocationEnv = { WX_CONTEXT_KEYS: 'WX_API_TOKEN', WX_API_TOKEN: 'wxapitoken-abc' }

// gatewayCase fills in the base case: §4's test vector, answered with success.
function gatewayCase (c) {
  return {
    method: 'getWeeklyRetain',
    data: week,
    wire: weekWire,
    answer: ok,
    timeoutMs: 5000,
    redirect: true,
    ...c,
    process: { ...processEnv, ...c.process },
    invocation: { ...invocationEnv, ...c.invocation }
  }
}

const fixtureKeys = {
  // A real SCF invocation's keys (node-sdk's parseContext test fixture, §2.3).
  WX_CONTEXT_KEYS: 'WX_CLIENTIP,WX_CLIENTIPV6,WX_APPID,WX_OPENID,WX_API_TOKEN',
  TCB_CONTEXT_KEYS: 'TCB_ENV,TCB_SEQID,TRIGGER_SRC,TCB_SESSIONTOKEN,TCB_SOURCE',
  WX_APPID: 'wx0123456789abcdef',
  WX_OPENID: 'o_openid',
  WX_CLIENTIP: '10.0.0.1',
  TRIGGER_SRC: 'tcb'
}

const gatewayCases = [
  // Requests.
  { name: 'base', about: '§4 test vector: SCF, region, namespace as env id, WX_API_TOKEN listed' },
  {
    name: 'fixture-context',
    about: "a real invocation's keys: TCB_ENV, TCB_SOURCE, TCB_SEQID, TCB_SESSIONTOKEN listed",
    invocation: { ...fixtureKeys, TCB_ENV: 'test-env-1a2b3c', TCB_SOURCE: 'wx_devtools', TCB_SEQID: '1577153917182_0.13161529658114857_33555268', TCB_SESSIONTOKEN: 'tcb-session-token' }
  },
  {
    name: 'timer-token',
    about: 'TRIGGER_SRC=timer: WX_TRIGGER_API_TOKEN_V0 wins over WX_API_TOKEN',
    invocation: { TRIGGER_SRC: 'timer', WX_TRIGGER_API_TOKEN_V0: 'trigger-token-v0' }
  },
  {
    name: 'timer-fallback',
    about: 'TRIGGER_SRC=timer without WX_TRIGGER_API_TOKEN_V0: WX_API_TOKEN',
    invocation: { TRIGGER_SRC: 'timer' }
  },
  {
    name: 'timer-token-only',
    about: 'TRIGGER_SRC=timer, only WX_TRIGGER_API_TOKEN_V0 (fixed key, needs no listing)',
    invocation: { WX_CONTEXT_KEYS: '', WX_API_TOKEN: undefined, TRIGGER_SRC: 'timer', WX_TRIGGER_API_TOKEN_V0: 'trigger-token-v0' }
  },
  {
    name: 'tcb-env-listed',
    about: 'TCB_ENV listed in TCB_CONTEXT_KEYS wins over SCF_NAMESPACE',
    process: { SCF_NAMESPACE: 'ns-b' },
    invocation: { TCB_CONTEXT_KEYS: 'TCB_ENV', TCB_ENV: 'env-a' }
  },
  {
    name: 'tcb-env-unlisted',
    about: 'TCB_ENV not listed is ignored: SCF_NAMESPACE',
    process: { SCF_NAMESPACE: 'ns-b' },
    invocation: { TCB_ENV: 'env-a' }
  },
  {
    name: 'session-token-absent',
    about: 'no TENCENTCLOUD_SESSIONTOKEN: no sessionToken field',
    process: { TENCENTCLOUD_SESSIONTOKEN: undefined }
  },
  {
    name: 'session-token-empty',
    about: 'TENCENTCLOUD_SESSIONTOKEN="": the field is sent empty and not signed',
    process: { TENCENTCLOUD_SESSIONTOKEN: '' }
  },
  {
    name: 'credentials-in-invocation',
    about: "the invocation's role credentials replace the process's",
    process: { TENCENTCLOUD_SECRETID: 'AKIDstale', TENCENTCLOUD_SECRETKEY: 'stalekey', TENCENTCLOUD_SESSIONTOKEN: 'stalesession' },
    invocation: { TENCENTCLOUD_SECRETID: 'AKIDfresh', TENCENTCLOUD_SECRETKEY: 'freshkey', TENCENTCLOUD_SESSIONTOKEN: 'freshsession' }
  },
  {
    name: 'env-id-fails-regex',
    about: 'an env id outside ^[a-z0-9_-]{1,40}$ stays out of the host',
    process: { SCF_NAMESPACE: 'Test.Env' }
  },
  {
    name: 'no-region',
    about: 'no TENCENTCLOUD_REGION: the region-less host, no X-TCB-Region',
    process: { TENCENTCLOUD_REGION: undefined }
  },
  {
    name: 'performance-data',
    about: 'getPerformanceData with nested parameters',
    method: 'getPerformanceData',
    data: { time: { beginTimestamp: 1699977600, endTimestamp: 1700063999 }, module: '10022', params: [{ field: 'networktype', value: 'wifi' }] },
    wire: '{"time":{"begin_timestamp":1699977600,"end_timestamp":1700063999},"module":"10022","params":[{"field":"networktype","value":"wifi"}]}'
  },
  {
    name: 'values',
    about: "json-bigint's escapes and JavaScript's numbers and key order in a request",
    data: { 2: 'two', 1: 'one', beginDate: 'é\u2028<>&\u0085"\\\u007f\u00ad\ufeff\t\u0001😀', endDate: '20170312', x: 1.5, y: 1e21, z: 0, w: null, v: true, u: [1, 'a', { kB: 'v' }, []], e: {} },
    // As the function sends it: renamed keys last, as the SDK's case conversion leaves
    // them; numbers as written, which json-bigint must print as JavaScript does (-0 too).
    wire: '{"2":"two","1":"one","x":1.50,"y":1E21,"z":-0,"w":null,"v":true,"u":[1,"a",{"k_b":"v"},[]],"e":{},"begin_date":"é\\u2028<>&\\u0085\\"\\\\\\u007f\\u00ad\\ufeff\\t\\u0001😀","end_date":"20170312"}'
  },
  {
    name: 'tracelog',
    about: 'TCB_TRACELOG listed: X-TCB-Tracelog',
    invocation: { TCB_CONTEXT_KEYS: 'TCB_TRACELOG', TCB_TRACELOG: 'trace-1' }
  },
  {
    name: 'cloudbase-access-token',
    about: 'no WX_API_TOKEN, WX_CLOUDBASE_ACCESSTOKEN listed: the wxCloudbaseAccesstoken field',
    invocation: { WX_CONTEXT_KEYS: 'WX_CLOUDBASE_ACCESSTOKEN', WX_API_TOKEN: undefined, WX_CLOUDBASE_ACCESSTOKEN: 'cloudbase-access-token' }
  },
  {
    name: 'token-unlisted',
    about: 'WX_API_TOKEN present but not listed: no token (the SDK sends an empty one; we send nothing)',
    invocation: { WX_CONTEXT_KEYS: 'WX_OPENID' },
    answer: jsonAnswer('{"code":"INVALID_PARAM","message":"missing wxCloudApiToken","requestId":"18bcfe5687b_1"}')
  },
  {
    name: 'base-url-with-query',
    about: "TCB_CONTEXT_CNFG's URL replaces the base; a base with '?' gets no '&'",
    invocation: { TCB_CONTEXT_CNFG: JSON.stringify({ URL: 'http://gateway.example:8080/admin?from=cnfg' }) }
  },
  {
    name: 'base-url',
    about: "TCB_CONTEXT_CNFG's URL (a fixed key, listing not needed)",
    invocation: { TCB_CONTEXT_CNFG: JSON.stringify({ URL: 'http://gateway.example:8080/admin' }) }
  },

  // §5 decision table, one row after another.
  { name: 'row01-refused', about: 'connection refused', invocation: { TCB_CONTEXT_CNFG: JSON.stringify({ URL: 'http://127.0.0.1:1/admin' }) }, redirect: false, answer: null },
  { name: 'row01-closed', about: 'connection closed before any answer', answer: { kind: 'close' } },
  { name: 'row01-cut', about: 'connection closed in the middle of the body', answer: { kind: 'cut', status: 200, headers: ['Content-Type: application/octet-stream'], body: commOpenApiResp({ respData: retain }) } },
  { name: 'row01-malformed', about: 'an answer that is not HTTP', answer: { kind: 'raw', body: Buffer.from('garbage\r\n\r\n') } },
  { name: 'row02-timeout', about: 'no answer within the timeout', answer: { kind: 'hang' }, timeoutMs: 300 },
  { name: 'row03-status-500', about: 'HTTP 500', answer: reply(500, 'text/plain', 'boom') },
  { name: 'row03-status-302', about: 'a redirect is not followed', answer: reply(302, 'text/plain', '', ['Location: http://127.0.0.1:1/elsewhere']) },
  { name: 'row03-status-599', about: 'an unknown status', answer: reply(599, 'text/plain', '') },
  { name: 'row04-invalid-token', about: "the gateway's answer to a bad token", answer: jsonAnswer('{"code":"INVALID_PARAM","message":"Invalid wxCloudApiToken","requestId":"18bcfe5687b_1"}') },
  { name: 'row04-unknown-code', about: 'a code TCB_ERR_CODE lacks', answer: jsonAnswer('{"code":"SOMETHING_NEW","message":"new","requestId":"r"}') },
  { name: 'row04-no-message', about: 'a code without message', answer: jsonAnswer('{"code":"SYS_ERR"}') },
  { name: 'row04-empty-message', about: 'a code with an empty message', answer: jsonAnswer('{"code":"EXCEED_REQUEST_LIMIT","message":""}') },
  { name: 'row04-null-message', about: 'a code with a null message', answer: jsonAnswer('{"code":"INVALIID_ENV","message":null}') },
  { name: 'row05-errcode', about: 'a JSON errcode', answer: jsonAnswer('{"errcode":40001,"errmsg":"invalid credential"}') },
  { name: 'row05-errcode-no-errmsg', about: 'a JSON errcode without errmsg', answer: jsonAnswer('{"errcode":45009}') },
  { name: 'row06-object', about: 'other JSON object', answer: jsonAnswer('{"foo":1}') },
  { name: 'row06-array', about: 'a JSON array', answer: jsonAnswer('[1,[2,null],{"a":1},"x"]') },
  { name: 'row06-string', about: 'a JSON string', answer: jsonAnswer('"abc"') },
  { name: 'row06-number', about: 'a JSON number', answer: jsonAnswer('1e21') },
  { name: 'row06-false', about: 'JSON false', answer: jsonAnswer('false') },
  { name: 'row06-null', about: 'JSON null', answer: jsonAnswer('null') },
  { name: 'row06-bytelength', about: 'an object whose byteLength is 0', answer: jsonAnswer('{"byteLength":0}') },
  { name: 'row07-json-other-type', about: 'JSON under another content type goes to the protobuf decoder (then row 8)', answer: reply(200, 'application/json', '{"code":"INVALID_PARAM","message":"Invalid wxCloudApiToken"}') },
  { name: 'row08-code-message', about: 'undecodable, JSON with code and message', answer: reply(200, 'text/plain', '{"code":"RESOURCE_NOT_INITIAL","message":"not ready"}') },
  { name: 'row09-other-json', about: 'undecodable, other JSON: JSON.stringify, integer keys first', answer: reply(200, 'text/plain', '{"foo": "bar", "2": 1.50, "1": [true, null]}') },
  { name: 'row09-null', about: 'undecodable JSON null', answer: reply(200, 'text/plain', 'null') },
  { name: 'row10-range', about: 'not protobuf, not JSON: RangeError', answer: reply(200, 'text/plain', 'abcd') },
  { name: 'row10-wire-type', about: 'not protobuf, not JSON: invalid wire type', answer: reply(200, 'text/plain', '<html>busy</html>') },
  { name: 'row10-varint', about: 'a varint running off the end', answer: reply(200, 'application/octet-stream', Buffer.from([0x18, 0xff, 0xff])) },
  { name: 'row10-bytes', about: 'a length beyond the end', answer: reply(200, 'application/octet-stream', Buffer.from([0x0a, 0x10, 0x41])) },
  { name: 'row10-group-open', about: 'a group never closed', answer: reply(200, 'application/octet-stream', Buffer.from([0x0b])) },
  { name: 'row10-group-depth', about: "groups nested beyond protobufjs's limit", answer: reply(200, 'application/octet-stream', Buffer.alloc(110, 0x3b)) },
  { name: 'row10-long-varint', about: 'a ten-byte varint cut short', answer: reply(200, 'application/octet-stream', Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])) },
  { name: 'row10-header-overrun', about: 'an HttpHeader longer than the message', answer: reply(200, 'application/octet-stream', Buffer.from([0x2a, 0x05, 0x0a, 0x01, 0x41, 0x12, 0x09, 0x42])) },
  { name: 'row11-no-permission', about: 'errorCode -604101', answer: pb({ errorCode: -604101 }) },
  { name: 'row11-with-data', about: 'errorCode with respData', answer: pb({ respData: retain, contentType: 'application/json', errorCode: -604102 }) },
  { name: 'row12-success', about: 'success', answer: ok },
  { name: 'row12-string-clamped', about: "a contentType longer than the message is cut at its end, as protobufjs's BufferReader does", answer: reply(200, 'application/octet-stream', Buffer.from([0x0a, 0x01, 0x41, 0x12, 0x09, 0x42])) },
  { name: 'row12-empty', about: 'an empty 200 body decodes as an empty CommOpenApiResp', answer: reply(200, 'application/octet-stream', '') },
  {
    name: 'row12-extra-fields',
    about: 'httpCode, headers and unknown fields are ignored',
    answer: reply(200, 'application/octet-stream', Buffer.concat([
      commOpenApiResp({ respData: retain, contentType: 'application/json; charset=utf-8', httpCode: 500, headers: [['X-A', 'b']] }),
      tag(15, 0), varint(7), tag(14, 5), Buffer.from([1, 2, 3, 4]), tag(13, 1), Buffer.alloc(8),
      tag(12, 3), tag(1, 0), varint(1), tag(2, 2), varint(1), Buffer.from('x'), tag(12, 4), // a group, skipped
      tag(3, 0), varint64(-0) // errorCode 0

    ]))
  }
].map(gatewayCase)

// recorder listens for one case: it records each request and gives the answer.
function recorder (answer) {
  const requests = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const headers = []
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(req.rawHeaders[i] + ': ' + req.rawHeaders[i + 1])
      requests.push({ line: `${req.method} ${req.url} HTTP/${req.httpVersion}`, headers, body: Buffer.concat(chunks) })
      switch (answer.kind) {
        case 'hang':
          return
        case 'close':
          return req.socket.destroy()
        case 'raw':
          return req.socket.end(answer.body)
        case 'cut':
          res.writeHead(answer.status, [...headerList(answer.headers), 'Content-Length', String(answer.body.length + 100)])
          res.write(answer.body)
          return setTimeout(() => req.socket.destroy(), 20)
      }
      res.writeHead(answer.status, [...headerList(answer.headers), 'Content-Length', String(answer.body.length)])
      res.end(answer.body)
    })
  })
  return { server, requests }
}

// headerList turns ["Name: value"] into res.writeHead's flat [name, value, …].
function headerList (headers) {
  return headers.flatMap(h => [h.slice(0, h.indexOf(': ')), h.slice(h.indexOf(': ') + 2)])
}

async function runGatewayCase (c) {
  const { server, requests } = recorder(c.answer || { kind: 'hang' })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const env = { WXA_GATEWAY_CHILD: '1', GW_NOW: String(NOW), GW_BOUNDARY: BOUNDARY, GW_METHOD: c.method, GW_DATA: JSON.stringify(c.data), GW_TIMEOUT: String(c.timeoutMs) }
  if (c.redirect) env.GW_PORT = String(server.address().port)
  // The SDK sees one process.env: the process's, overwritten by the invocation's, as SCF's Node runtime does.
  for (const [k, v] of Object.entries({ ...c.process, ...c.invocation })) if (v !== undefined) env[k] = v
  const child = spawn(process.execPath, [__filename], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  const code = await new Promise(resolve => child.on('close', resolve))
  server.closeAllConnections()
  server.close()
  if (code !== 0) throw new Error(`${c.name}: the SDK child failed (${code}):\n${stderr}`)
  const outcome = JSON.parse(stdout.trim().split('\n').pop())
  if (requests.length > 1) throw new Error(`${c.name}: ${requests.length} requests`)
  const r = requests[0]
  return {
    name: c.name,
    about: c.about,
    process: c.process,
    invocation: c.invocation,
    apiName: 'analysis.' + c.method,
    data: c.data,
    wire: c.wire,
    now: NOW,
    boundary: BOUNDARY,
    timeoutMs: c.timeoutMs,
    redirect: c.redirect,
    // Bodies are written one character per byte (latin1): exact, and readable where ASCII.
    answer: c.answer && { ...c.answer, ...(c.answer.body ? { body: c.answer.body.toString('latin1') } : {}) },
    request: r ? { line: r.line, headers: r.headers, body: r.body.toString('latin1') } : null,
    outcome
  }
}

async function recordGateway (out) {
  fs.mkdirSync(out, { recursive: true })
  const names = new Set(gatewayCases.map(c => c.name))
  if (names.size !== gatewayCases.length) throw new Error('duplicate gateway case')
  const queue = [...gatewayCases]
  const worker = async () => {
    for (let c; (c = queue.shift());) {
      const g = await runGatewayCase(c)
      fs.writeFileSync(path.join(out, c.name + '.json'), JSON.stringify(g, null, 2) + '\n')
    }
  }
  await Promise.all([worker(), worker(), worker()])
  for (const f of fs.readdirSync(out)) {
    if (!names.has(f.replace(/\.json$/, ''))) fs.unlinkSync(path.join(out, f))
  }
  console.log(`conformance: ${gatewayCases.length} gateway cases recorded`)
}

// gatewayChild is one SDK call under a pinned clock and boundary, its
// connections sent to the case's recorder; it prints the outcome as JSON.
function gatewayChild () {
  const now = Number(process.env.GW_NOW)
  const RealDate = Date
  global.Date = class extends RealDate {
    constructor (...args) { if (args.length === 0) super(now); else super(...args) }
    static now () { return now }
  }
  const sdkDir = path.dirname(require.resolve('@cloudbase/node-sdk/package.json', { paths: [path.dirname(require.resolve('wx-server-sdk'))] }))
  const FormData = require(require.resolve('form-data', { paths: [sdkDir] }))
  FormData.prototype._generateBoundary = function () { this._boundary = process.env.GW_BOUNDARY }
  if (process.env.GW_PORT) {
    const port = Number(process.env.GW_PORT)
    const createConnection = http.Agent.prototype.createConnection
    http.Agent.prototype.createConnection = function (options, cb) {
      return createConnection.call(this, { ...options, host: '127.0.0.1', port }, cb)
    }
  }
  const data = JSON.parse(process.env.GW_DATA)
  const cloud = require('wx-server-sdk')
  cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV, timeout: Number(process.env.GW_TIMEOUT) })
  // The message the SDK decoded, for the Go test to compare respData and contentType.
  const CommOpenApiResp = require(require.resolve('protobufjs/minimal', { paths: [path.dirname(require.resolve('wx-server-sdk'))] })).roots.default.CommOpenApiResp
  const decode = CommOpenApiResp.decode
  let decoded = null
  CommOpenApiResp.decode = function (...args) {
    decoded = decode.apply(this, args)
    return decoded
  }
  const done = outcome => {
    process.stdout.write('\n' + JSON.stringify(outcome) + '\n', () => process.exit(0))
  }
  cloud.openapi.analysis[process.env.GW_METHOD](data).then(
    result => done({ result: JSON.parse(JSON.stringify(result)), respData: Buffer.from(decoded.respData).toString('latin1'), contentType: decoded.contentType }),
    err => done({ errCode: err.errCode, errMsg: err.errMsg })
  )
}
