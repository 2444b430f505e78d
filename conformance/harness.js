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
  for (const f of fs.readdirSync(out)) {
    if (!names.has(f.replace(/\.json$/, ''))) fs.unlinkSync(path.join(out, f))
  }
  gateway.close()
  console.log(`conformance: ${cases.length} cases recorded with wx-server-sdk ${require('wx-server-sdk/package.json').version}`)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
