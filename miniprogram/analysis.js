// analysis.js: the Mini Program's client of the wxanalysis function, and date
// helpers in China Standard Time. CommonJS, ES2017, no dependencies; its
// types are analysis.d.ts. rules.js, beside it, is generated from the
// function's Go code (go generate ./internal/tsgen): the method list, each
// method's date rule and when its answers are final.
'use strict'

const rules = require('./rules')

const DAY = 24 * 60 * 60 * 1000
const CST = 8 * 60 * 60 * 1000 // China Standard Time is UTC+8, with no daylight saving

// Codes the client gives when the function could not answer; the same as the
// function's (openapi/errors.go), which are wx-server-sdk's.
const codes = {
  system: -1, // wx.cloud failed without a code of its own
  internal: -601001, // the answer is not a result of the function
  config: -601002, // the client is misconfigured
  notFound: -604100, // no such method
  invalidArgs: 40097,
  dateFormat: 61500
}

/**
 * AnalysisError carries errCode and errMsg, as wx-server-sdk's errors do;
 * message is errMsg.
 */
class AnalysisError extends Error {
  constructor (errCode, errMsg) {
    super(errMsg)
    this.name = 'AnalysisError'
    this.errCode = errCode
    this.errMsg = errMsg
  }
}

function excerpt (v) {
  let s
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v)
  } catch (e) {
    s = String(v)
  }
  s = String(s)
  return s.length > 120 ? s.slice(0, 120) + '…' : s
}

function isObject (v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

// ---- Dates: day numbers count days from 1970-01-01 in China Standard Time ----

function dayOf (ms) {
  return Math.floor((ms + CST) / DAY)
}

// dayFrom is the day number of y-m-d; m and d may overflow, as in Go's time.Date.
function dayFrom (y, m, d) {
  const t = new Date(0)
  t.setUTCFullYear(y, m - 1, d) // unlike Date.UTC, years 0-99 stay themselves
  return Math.round(t.getTime() / DAY)
}

function civil (day) {
  const t = new Date(day * DAY)
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() }
}

function pad (n, width) {
  let s = String(n)
  while (s.length < width) s = '0' + s
  return s
}

function ymd (day) {
  const c = civil(day)
  return pad(c.y, 4) + pad(c.m, 2) + pad(c.d, 2)
}

function weekday (day) { // 0 Sunday ... 6 Saturday; day 0 was a Thursday
  return (((day + 4) % 7) + 7) % 7
}

function range (begin, end) {
  return { beginDate: ymd(begin), endDate: ymd(end) }
}

function millis (date, what) {
  const ms = date instanceof Date ? date.getTime() : date
  if (typeof ms !== 'number' || !isFinite(ms)) {
    throw new AnalysisError(codes.invalidArgs, what + ' must be a Date or milliseconds since 1970, not ' + excerpt(date))
  }
  return ms
}

function parseDay (s, what) {
  if (typeof s !== 'string' || !/^[0-9]{8}$/.test(s)) {
    throw new AnalysisError(codes.dateFormat, what + ' ' + excerpt(s) + ' must be a date in yyyymmdd format, such as 20170306')
  }
  const y = Number(s.slice(0, 4))
  const m = Number(s.slice(4, 6))
  const d = Number(s.slice(6))
  const day = dayFrom(y, m, d)
  if (ymd(day) !== s) {
    throw new AnalysisError(codes.dateFormat, what + ' ' + s + ' is not a calendar date')
  }
  return day
}

function rule (method) {
  for (const m of rules.methods) {
    if (m.name === method) return m
  }
  throw new AnalysisError(codes.notFound, 'API not found: ' + excerpt(method) + ' is not an analysis method')
}

// finalDay is the day (00:00 CST) from which method's answer for a period
// ending on day end stops changing, or null for never: cache/final.go's rule.
function finalDay (method, end) {
  const f = rule(method).final
  if (!f) return null
  let base = end
  if (f.monthEnds >= 0) {
    const c = civil(end)
    base = dayFrom(c.y, c.m + f.monthEnds + 1, 0)
  }
  return base + f.days
}

function createDates (now) {
  const today = () => dayOf(now())
  const yesterday = () => today() - 1
  const lastWeek = () => {
    const sunday = yesterday() - weekday(yesterday())
    return [sunday - 6, sunday]
  }
  const lastMonth = () => {
    const c = civil(today())
    const end = dayFrom(c.y, c.m, 0)
    const e = civil(end)
    return [dayFrom(e.y, e.m, 1), end]
  }
  // latest steps back from the period [begin, end] until method's answer for
  // it is final.
  const latest = (method, period, back) => {
    const t = today()
    for (let i = 0; i < 1000; i++) {
      const at = finalDay(method, period[1])
      if (at === null) break
      if (at <= t) return range(period[0], period[1])
      period = back(period)
    }
    throw new AnalysisError(codes.config, method + ' has no final period in rules.js')
  }
  return {
    at (instant) {
      const ms = millis(instant, 'dates.at(now): now')
      return createDates(() => ms)
    },
    yesterday () {
      return range(yesterday(), yesterday())
    },
    lastDays (n) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 3650) {
        throw new AnalysisError(codes.invalidArgs, 'lastDays(n): n must be a whole number of days from 1 to 3650, not ' + excerpt(n))
      }
      return range(yesterday() - n + 1, yesterday())
    },
    lastWeek () {
      const w = lastWeek()
      return range(w[0], w[1])
    },
    lastMonth () {
      const m = lastMonth()
      return range(m[0], m[1])
    },
    latestRetainedWeek () {
      return latest('getWeeklyRetain', lastWeek(), w => [w[0] - 7, w[1] - 7])
    },
    latestRetainedMonth () {
      return latest('getMonthlyRetain', lastMonth(), m => {
        const c = civil(m[0])
        return [dayFrom(c.y, c.m - 1, 1), m[0] - 1]
      })
    },
    finalAt (method, endDate) {
      const at = finalDay(method, parseDay(endDate, 'finalAt: endDate'))
      return at === null ? null : new Date(at * DAY - CST)
    },
    format (date) {
      return ymd(dayOf(millis(date, 'format(date): date')))
    },
    parse (s) {
      return new Date(parseDay(s, 'parse:') * DAY - CST)
    }
  }
}

/** dates are the date helpers at the phone's clock; dates.at(now) at another. */
const dates = createDates(() => Date.now())

// ---- The client ----

function wxOf (options) {
  const w = options.wx || (typeof wx !== 'undefined' ? wx : undefined) // eslint-disable-line no-undef
  if (!w || !w.cloud) {
    throw new AnalysisError(codes.config, 'wx.cloud is not available: call wx.cloud.init() first (base library 2.2.3 or later), or pass options.wx')
  }
  return w
}

// fromWx turns a wx.cloud failure into an AnalysisError, keeping its code.
function fromWx (api, err) {
  if (err instanceof AnalysisError) return err
  if (err && typeof err.errCode === 'number') {
    return new AnalysisError(err.errCode, String(err.errMsg || err.message || api + ':fail'))
  }
  return new AnalysisError(codes.system, api + ':fail ' + (err && err.message ? err.message : excerpt(err)))
}

// result checks that v is a result of the function and resolves with it, or
// rejects with its errCode and errMsg.
function result (api, v, status) {
  if (!isObject(v) || typeof v.errCode !== 'number') {
    throw new AnalysisError(codes.internal, api + ':fail the answer' + (status ? ' (HTTP ' + status + ')' : '') +
      ' is not a result of the analysis function: ' + excerpt(v))
  }
  if (v.errCode !== 0) {
    throw new AnalysisError(v.errCode, String(v.errMsg))
  }
  return v
}

function checkOptions (options) {
  if (options === undefined || options === null) return {}
  if (!isObject(options)) {
    throw new AnalysisError(codes.invalidArgs, 'createAnalysis(options): options must be an object, not ' + excerpt(options))
  }
  const c = options.container
  if (c !== undefined) {
    if (!isObject(c)) {
      throw new AnalysisError(codes.invalidArgs, 'options.container must be {env, service, path}, not ' + excerpt(c))
    }
    for (const k of ['env', 'service']) {
      if (typeof c[k] !== 'string' || c[k] === '') {
        throw new AnalysisError(codes.invalidArgs, 'options.container.' + k + ' must be a non-empty string, not ' + excerpt(c[k]))
      }
    }
    if (c.path !== undefined && (typeof c.path !== 'string' || c.path[0] !== '/')) {
      throw new AnalysisError(codes.invalidArgs, 'options.container.path must be a path starting with /, not ' + excerpt(c.path))
    }
    if (options.name !== undefined) {
      throw new AnalysisError(codes.invalidArgs, 'options.name and options.container: give one, a cloud function or a Cloud Run service')
    }
  }
  for (const k of ['name', 'env']) {
    if (options[k] !== undefined && (typeof options[k] !== 'string' || options[k] === '')) {
      throw new AnalysisError(codes.invalidArgs, 'options.' + k + ' must be a non-empty string, not ' + excerpt(options[k]))
    }
  }
  return options
}

/**
 * createAnalysis returns a client of the analysis function: by default the
 * cloud function "analysis" through wx.cloud.callFunction; with
 * options.container, a WeChat Cloud Run service through wx.cloud.callContainer.
 */
function createAnalysis (options) {
  options = checkOptions(options)
  const container = options.container

  // send delivers one event and resolves with the function's result, whatever its errCode.
  const send = async (data) => {
    const w = wxOf(options)
    if (container) {
      let res
      try {
        res = await w.cloud.callContainer({
          config: { env: container.env },
          path: container.path || '/',
          method: 'POST',
          header: { 'X-WX-SERVICE': container.service, 'content-type': 'application/json' },
          data
        })
      } catch (err) {
        throw fromWx('cloud.callContainer', err)
      }
      let body = res && res.data
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body)
        } catch (e) { /* result() says what came instead */ }
      }
      return result('cloud.callContainer', body, res && res.statusCode)
    }
    const req = { name: options.name || 'analysis', data }
    if (options.env) req.config = { env: options.env }
    let res
    try {
      res = await w.cloud.callFunction(req)
    } catch (err) {
      throw fromWx('cloud.callFunction', err)
    }
    return result('cloud.callFunction', res && res.result)
  }

  // event builds an event from the caller's object and action.
  const event = (what, params, action) => {
    if (params === undefined) params = {}
    if (!isObject(params)) {
      throw new AnalysisError(codes.invalidArgs, 'invalid args: ' + what + ' takes one object of parameters, not ' + excerpt(params))
    }
    return Object.assign({}, params, { action })
  }

  const client = {}
  for (const m of rules.methods) {
    client[m.name] = async (params) => send(event(m.name, params, m.name))
  }
  client.batch = async (events) => send({ action: 'batch', requests: events })
  client.series = async (request) => send(event('series', request, 'series'))
  return Object.freeze(client)
}

/** isOk tells an item of a batch or series that succeeded. */
function isOk (item) {
  return isObject(item) && item.errCode === 0
}

module.exports = { createAnalysis, dates, isOk, AnalysisError }
