// The client against the real binary: every method, batch and series, each
// succeeding and failing, through wx.cloud.callFunction and
// wx.cloud.callContainer stand-ins that forward to the function over HTTP.
'use strict'
const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { createAnalysis, dates, isOk, AnalysisError } = require('../analysis')
const rules = require('../rules')
const { target, standIn, tsc, root } = require('./helpers')

const fn = target()
const skip = fn ? false : 'needs the function: run through `go test -run TestFrontEnd .`'
const performance = JSON.parse(fs.readFileSync(path.join(root, '..', 'events', 'getPerformanceData.json'), 'utf8'))
delete performance.action

// good are parameters each method accepts now, from the date helpers.
const good = {
  getDailyRetain: () => dates.yesterday(),
  getWeeklyRetain: () => dates.latestRetainedWeek(),
  getMonthlyRetain: () => dates.latestRetainedMonth(),
  getDailySummary: () => dates.yesterday(),
  getDailyVisitTrend: () => dates.yesterday(),
  getWeeklyVisitTrend: () => dates.lastWeek(),
  getMonthlyVisitTrend: () => dates.lastMonth(),
  getVisitDistribution: () => dates.yesterday(),
  getVisitPage: () => dates.yesterday(),
  getUserPortrait: () => dates.lastDays(7),
  getPerformanceData: () => performance
}

// bad are parameters each method refuses, with the code and a part of the message.
const tomorrow = dates.format(Date.now() + 24 * 3600e3)
const bad = {
  getDailyRetain: [{ beginDate: '20170306', endDate: '20170307' }, 61501, 'must equal beginDate'],
  getWeeklyRetain: [{ beginDate: '20170307', endDate: '20170313' }, 61501, 'must be a Monday'],
  getMonthlyRetain: [{ beginDate: '20170302', endDate: '20170331' }, 61501, 'first day of a month'],
  getDailySummary: [{ beginDate: tomorrow, endDate: tomorrow }, 61501, 'after yesterday'],
  getDailyVisitTrend: [{ beginDate: '2017-03-06', endDate: '20170306' }, 61500, 'yyyymmdd'],
  getWeeklyVisitTrend: [{ beginDate: '20170306', endDate: '20170311' }, 61501, 'the Sunday of the week'],
  getMonthlyVisitTrend: [(() => { const m = dates.lastMonth(); const b = dates.parse(m.endDate).getTime() + 24 * 3600e3; return { beginDate: dates.format(b), endDate: dates.format(b + 40 * 24 * 3600e3).slice(0, 6) + '01' } })(), 61501, ''],
  getVisitDistribution: [{ beginDate: '20170230', endDate: '20170230' }, 61500, 'not a calendar date'],
  getVisitPage: [{ beginDate: '20170306' }, 40097, 'endDate'],
  getUserPortrait: [{ beginDate: '20170306', endDate: '20170308' }, 61501, '0, 6 or 29 days'],
  getPerformanceData: [Object.assign({}, performance, { module: '1' }), 40097, 'module']
}

const transports = {
  callFunction: (wx) => createAnalysis({ wx }),
  callContainer: (wx) => createAnalysis({ wx, container: { env: 'prod-test', service: 'wxanalysis', path: '/analysis' } })
}

const answers = {} // successful answers, for the type check below

describe('the client against the binary', { skip }, () => {
  test('every registry method has tests here', () => {
    assert.deepEqual(Object.keys(good).sort(), rules.methods.map(m => m.name).sort())
    assert.deepEqual(Object.keys(bad).sort(), rules.methods.map(m => m.name).sort())
  })

  for (const [transport, make] of Object.entries(transports)) {
    describe(transport, () => {
      const calls = []
      const analysis = make(standIn(fn, calls))

      for (const m of rules.methods) {
        test(m.name + ' resolves with the result', async () => {
          const before = calls.length
          const r = await analysis[m.name](good[m.name]())
          assert.equal(r.errCode, 0)
          assert.equal(r.errMsg, 'openapi.analysis.' + m.name + ':ok')
          assert.ok(m.name === 'getPerformanceData' ? r.data.body.tables.length > 0 : typeof r.refDate === 'string' || r.list.length > 0, JSON.stringify(r).slice(0, 200))
          assert.equal(calls.length, before + 1, 'one call')
          const sent = calls[before].options
          assert.equal(sent.data.action, m.name)
          if (transport === 'callContainer') {
            assert.deepEqual({ env: sent.config.env, path: sent.path, method: sent.method, service: sent.header['X-WX-SERVICE'] },
              { env: 'prod-test', path: '/analysis', method: 'POST', service: 'wxanalysis' })
          } else {
            assert.equal(sent.name, 'analysis')
          }
          answers[transport + '_' + m.name] = { type: `Answer<Results['${m.name}']>`, value: r }
        })

        test(m.name + ' rejects with errCode and errMsg', async () => {
          const [params, code, text] = bad[m.name]
          await assert.rejects(analysis[m.name](params), (err) => {
            assert.ok(err instanceof AnalysisError, String(err))
            assert.ok(err instanceof Error)
            assert.equal(err.errCode, code, err.errMsg)
            assert.match(err.errMsg, new RegExp('^openapi\\.analysis\\.' + m.name + ':fail '))
            assert.ok(err.errMsg.includes(text), err.errMsg)
            assert.equal(err.message, err.errMsg)
            return true
          })
        })
      }

      test('batch resolves with every item, each with its own errCode', async () => {
        const week = dates.lastWeek()
        const r = await analysis.batch([
          Object.assign({ action: 'getDailySummary' }, dates.yesterday()),
          Object.assign({ action: 'getWeeklyRetain' }, week),
          { action: 'getWeeklyRetain', beginDate: '20170307', endDate: '20170313' }
        ])
        assert.equal(r.errCode, 0)
        assert.equal(r.errMsg, 'batch:ok')
        assert.deepEqual(r.results.map(x => x.errCode), [0, 0, 61501])
        assert.deepEqual(r.results.map(isOk), [true, true, false])
        assert.equal(r.results[1].refDate, week.beginDate + '-' + week.endDate)
        assert.match(r.results[2].errMsg, /must be a Monday/)
        answers[transport + '_batch'] = { type: "BatchAnswer<[Results['getDailySummary'], Results['getWeeklyRetain'], Results['getWeeklyRetain']]>", value: r }
      })

      test('batch rejects a batch the function refuses', async () => {
        for (const [events, text] of [[[], 'requests'], [new Array(101).fill({ action: 'getDailySummary' }), '100'],
          [[{ action: 'series', method: 'getDailySummary' }], 'series'], ['nope', 'requests']]) {
          await assert.rejects(analysis.batch(events), (err) => {
            assert.equal(err.errCode, 40097, err.errMsg)
            assert.ok(err.errMsg.includes(text), err.errMsg)
            return true
          })
        }
      })

      test('series resolves with one item per period, in date order', async () => {
        const range = dates.lastDays(30)
        const r = await analysis.series(Object.assign({ method: 'getDailyVisitTrend' }, range))
        assert.equal(r.errCode, 0)
        assert.equal(r.errMsg, 'series:ok')
        assert.equal(r.results.length, 30)
        assert.ok(r.results.every(isOk))
        const days = r.results.map(x => x.list[0].refDate)
        assert.equal(days[0], range.beginDate)
        assert.equal(days[29], range.endDate)
        assert.deepEqual(days, days.slice().sort())
        answers[transport + '_series'] = { type: "BatchAnswer<Results['getDailyVisitTrend'][]>", value: r }

        const weeks = await analysis.series({ method: 'getWeeklyRetain', beginDate: '20170306', endDate: dates.lastWeek().endDate.slice(0, 0) + '20170402' })
        assert.deepEqual(weeks.results.map(x => x.refDate), ['20170306-20170312', '20170313-20170319', '20170320-20170326', '20170327-20170402'])
      })

      test('series rejects what the function refuses', async () => {
        for (const [request, code, text] of [
          [{ method: 'getUserPortrait', beginDate: '20170306', endDate: '20170312' }, 40097, 'no daily, weekly or monthly periods'],
          [{ method: 'getWeeklyRetain', beginDate: '20170307', endDate: '20170312' }, 61501, 'must be a Monday'],
          [{ method: 'getDailySummary', beginDate: '20170101', endDate: '20171231' }, 61501, 'more than 100'],
          [{ method: 'nope', beginDate: '20170101', endDate: '20170101' }, 40097, 'nope']
        ]) {
          await assert.rejects(analysis.series(request), (err) => {
            assert.equal(err.errCode, code, err.errMsg)
            assert.ok(err.errMsg.includes(text), err.errMsg)
            return true
          })
        }
      })

      test('parameters that are not an object are refused before any call', async () => {
        const before = calls.length
        for (const p of ['20170306', ['20170306'], null, 7]) {
          await assert.rejects(analysis.getWeeklyRetain(p), (err) => err.errCode === 40097 && /takes one object/.test(err.errMsg))
        }
        await assert.rejects(analysis.series('x'), (err) => err.errCode === 40097)
        assert.equal(calls.length, before)
      })
    })
  }

  test('a wrong API key is the function\'s refusal, not a success', async () => {
    const analysis = createAnalysis({ wx: standIn({ url: fn.url, key: 'not-the-key-0123456789' }) })
    await assert.rejects(analysis.getDailySummary(dates.yesterday()), (err) => {
      assert.ok(err.errCode !== 0 && typeof err.errCode === 'number', err.errMsg)
      assert.ok(!err.errMsg.includes('not-the-key'), 'the key is not echoed')
      return true
    })
  })

  test('the binary\'s answers compile against analysis.d.ts (tsc --strict, excess properties included)', () => {
    assert.ok(Object.keys(answers).length >= 2 * (rules.methods.length + 2), 'every success above ran: ' + Object.keys(answers))
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'answers-'))
    try {
      let src = `import type { Answer, Results, BatchAnswer } from ${JSON.stringify(path.join(root, 'analysis'))}\n`
      for (const [name, a] of Object.entries(answers)) {
        src += `export const ${name}: ${a.type} = ${JSON.stringify(a.value)}\n`
      }
      fs.writeFileSync(path.join(dir, 'answers.ts'), src)
      const r = tsc([path.join(dir, 'answers.ts')])
      assert.ok(r.ok, r.output)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the client without the binary', () => {
  test('wx.cloud failures keep their errCode and errMsg', async () => {
    const analysis = createAnalysis({ name: 'nope', wx: standIn({ url: 'http://127.0.0.1:9', key: 'k' }) })
    await assert.rejects(analysis.getDailySummary(dates.yesterday()), (err) => {
      assert.ok(err instanceof AnalysisError)
      assert.equal(err.errCode, -501000)
      assert.match(err.errMsg, /^cloud\.callFunction:fail /)
      return true
    })
    const broken = createAnalysis({ wx: { cloud: { callFunction: async () => { throw new TypeError('socket hang up') } } } })
    await assert.rejects(broken.getDailySummary(dates.yesterday()), { errCode: -1, errMsg: 'cloud.callFunction:fail socket hang up' })
  })

  test('an answer that is not a result of the function is -601001', async () => {
    const gateway = { cloud: { callContainer: async () => ({ data: '<html>502 Bad Gateway</html>', statusCode: 502 }) } }
    const analysis = createAnalysis({ wx: gateway, container: { env: 'e', service: 's' } })
    await assert.rejects(analysis.getDailySummary(dates.yesterday()), (err) => {
      assert.equal(err.errCode, -601001)
      assert.match(err.errMsg, /^cloud\.callContainer:fail the answer \(HTTP 502\) is not a result of the analysis function: <html>502/)
      return true
    })
    const empty = createAnalysis({ wx: { cloud: { callFunction: async () => ({ result: undefined }) } } })
    await assert.rejects(empty.getDailySummary(dates.yesterday()), { errCode: -601001 })
  })

  test('no wx.cloud is a clear error', async () => {
    await assert.rejects(createAnalysis({ wx: {} }).getDailySummary(dates.yesterday()), (err) => err.errCode === -601002 && /wx\.cloud\.init/.test(err.errMsg))
  })

  test('bad options name the field and the rule', () => {
    for (const [options, text] of [
      ['analysis', 'options must be an object'],
      [{ container: { env: 'e' } }, 'options.container.service must be a non-empty string'],
      [{ container: { env: '', service: 's' } }, 'options.container.env'],
      [{ container: { env: 'e', service: 's', path: 'analysis' } }, 'options.container.path must be a path starting with /'],
      [{ name: 'a', container: { env: 'e', service: 's' } }, 'give one'],
      [{ name: 3 }, 'options.name must be a non-empty string']
    ]) {
      assert.throws(() => createAnalysis(options), (err) => err instanceof AnalysisError && err.errCode === 40097 && err.errMsg.includes(text))
    }
  })

  test('callFunction passes the environment when given', async () => {
    const calls = []
    const w = { cloud: { callFunction: async (o) => { calls.push(o); return { result: { errCode: 0, errMsg: 'x:ok' } } } } }
    await createAnalysis({ wx: w, name: 'stats', env: 'prod-1' }).getDailySummary(dates.yesterday())
    assert.deepEqual(calls[0].config, { env: 'prod-1' })
    assert.equal(calls[0].name, 'stats')
    assert.deepEqual(Object.keys(calls[0].data).sort(), ['action', 'beginDate', 'endDate'])
  })
})
