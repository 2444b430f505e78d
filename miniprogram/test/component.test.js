// The dashboard component under miniprogram-simulate (WeChat's unit-test
// tool for custom components), with jsdom as its page: it renders the
// binary's answers through the client and a wx stand-in, and an error.
'use strict'
const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { JSDOM } = require('jsdom')

const { target, standIn } = require('./helpers')
const { dates } = require('../analysis')
const { drawLine, cohortRows, layout } = require('../components/dashboard/chart')

const fn = target()
const skip = fn ? false : 'needs the function: run through `go test -run TestFrontEnd .`'
const component = path.join(__dirname, '..', 'components', 'dashboard', 'dashboard')

// settle waits, a bounded number of turns, until the component is no longer loading.
async function settle (comp) {
  for (let i = 0; i < 500 && comp.data.loading; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(comp.data.loading, false, 'the dashboard finished loading within 5 s')
}

const texts = (comp, selector) => comp.querySelectorAll(selector).map((n) => n.dom.textContent.trim())

describe('the dashboard under miniprogram-simulate', { skip }, () => {
  let dom, simulate, id
  const calls = []
  before(() => {
    dom = new JSDOM('<!doctype html><html><head></head><body></body></html>')
    global.window = dom.window
    global.document = dom.window.document
    global.wx = standIn(fn, calls) // simulate adds its own wx APIs to this one
    simulate = require('miniprogram-simulate')
    id = simulate.load(component, 'dashboard', { compiler: 'simulate' })
  })
  after(() => {
    delete global.wx
    delete global.window
    delete global.document
    dom.window.close()
  })

  test('renders the retention cohorts and the visits', async () => {
    const comp = simulate.render(id, { weeks: 6, days: 30 })
    comp.attach(document.createElement('parent-wrapper'))
    await settle(comp)
    assert.equal(comp.data.errMsg, '', comp.data.errMsg)
    assert.deepEqual(calls.slice(-2).map((c) => c.options.data.method).sort(), ['getDailyVisitTrend', 'getWeeklyRetain'])

    const rows = comp.querySelectorAll('.cohort')
    assert.equal(rows.length, 6, 'one row per week')
    const week = dates.lastWeek()
    const weeks = texts(comp, '.cohort .week')
    assert.equal(weeks[5], week.beginDate.slice(4, 6) + '-' + week.beginDate.slice(6, 8), 'the last row is last week')
    // The oldest cohort has all 4 weeks after it, the newest none yet: a triangle.
    const shares = texts(comp, '.share')
    assert.equal(shares.length, 6 * 4, 'four cells a row')
    const filled = [0, 1, 2, 3, 4, 5].map((r) => shares.slice(4 * r, 4 * r + 4).filter(Boolean).length)
    assert.deepEqual(filled, [4, 4, 3, 2, 1, 0])
    for (const share of shares.filter(Boolean)) assert.match(share, /^\d+\.\d%$/)
    assert.ok(texts(comp, '.cohort .users').every((u) => /^\d+$/.test(u)))

    const range = dates.lastDays(30)
    assert.equal(comp.data.visits.length, 30)
    assert.ok(comp.data.visits.every((v) => typeof v === 'number' && v > 0))
    assert.equal(texts(comp, '.range')[0], range.beginDate + '–' + range.endDate)
    assert.equal(comp.querySelectorAll('#visits').length, 1, 'the chart canvas')
    assert.equal(comp.querySelectorAll('.error').length, 0)
  })

  test('shows the errMsg when the function refuses', async () => {
    const comp = simulate.render(id, { weeks: 200 }) // more than series' 100 periods
    comp.attach(document.createElement('parent-wrapper'))
    await settle(comp)
    assert.equal(comp.data.errCode, 61501)
    assert.deepEqual(texts(comp, '.error-code'), ['61501'])
    const [msg] = texts(comp, '.error-msg')
    assert.match(msg, /^series:fail beginDate \d{8} to endDate \d{8} holds more than 100 periods of getWeeklyRetain$/)
    assert.equal(comp.querySelectorAll('.cohort').length, 0, 'no table')
  })

  test('shows the errMsg of wx.cloud itself', async () => {
    const comp = simulate.render(id, { name: 'nope' })
    comp.attach(document.createElement('parent-wrapper'))
    await settle(comp)
    assert.equal(comp.data.errCode, -501000)
    assert.match(texts(comp, '.error-msg')[0], /^cloud\.callFunction:fail .*function nope not found/)
  })
})

describe('the chart and the table, as functions', () => {
  test('drawLine draws the line through every value, the largest at the top', () => {
    const ops = []
    const ctx = new Proxy({}, {
      get: (o, k) => (k in o ? o[k] : (...args) => ops.push([k].concat(args))),
      set: (o, k, v) => { ops.push([k, v]); return true }
    })
    const points = drawLine(ctx, 300, 150, [10, 40, 20, 0], { pad: 20 })
    assert.deepEqual(points.map((p) => [Math.round(p.x), Math.round(p.y)]), [[20, 103], [107, 20], [193, 75], [280, 130]])
    const line = ops.filter((o) => o[0] === 'moveTo' || o[0] === 'lineTo').slice(2) // after the base line
    assert.deepEqual(line.map((o) => o[0]), ['moveTo', 'lineTo', 'lineTo', 'lineTo'])
    assert.deepEqual(ops.find((o) => o[0] === 'fillText').slice(1, 2), ['40'])
    assert.deepEqual(layout([0, 0], 100, 100, 10).map((p) => p.y), [90, 90], 'all zero: on the base line')
    assert.deepEqual(drawLine(ctx, 100, 100, []), [])
  })

  test('cohortRows: shares of key 0, blanks for keys not in, a failed item keeps its errMsg', () => {
    const rows = cohortRows([
      { errCode: 0, errMsg: 'ok', refDate: '20240101-20240107', visitUvNew: [{ key: 0, value: 200 }, { key: 1, value: 50 }, { key: 2, value: 1 }], visitUv: [] },
      { errCode: 61501, errMsg: 'openapi.analysis.getWeeklyRetain:fail no' }
    ], 4)
    assert.deepEqual(rows, [
      { week: '01-01', users: '200', cells: ['25.0%', '0.5%', '', ''], errMsg: '' },
      { week: '', users: '—', cells: [], errMsg: 'openapi.analysis.getWeeklyRetain:fail no' }
    ])
  })
})
