// dates-answers.js: reads {instants, days} as JSON on stdin and writes what
// the date helpers answer for each, for the Go test that checks them against
// the function's own rules (frontend_test.go). Run under several TZ values.
'use strict'
const { dates } = require('../analysis')
const rules = require('../rules')

let input = ''
process.stdin.on('data', (c) => { input += c })
process.stdin.on('end', () => {
  const { instants, days } = JSON.parse(input)
  const out = { zone: Intl.DateTimeFormat().resolvedOptions().timeZone, offset: new Date(Date.UTC(2024, 0, 15)).getTimezoneOffset(), instants: [], days: [] }
  for (const ms of instants) {
    const d = dates.at(ms)
    const y = d.yesterday()
    const finalAt = {}
    for (const m of rules.methods) {
      const at = d.finalAt(m.name, y.endDate)
      finalAt[m.name] = at === null ? null : at.getTime()
    }
    out.instants.push({
      now: ms,
      today: d.format(ms),
      yesterday: y,
      last1: d.lastDays(1),
      last7: d.lastDays(7),
      last30: d.lastDays(30),
      lastWeek: d.lastWeek(),
      lastMonth: d.lastMonth(),
      retainedWeek: d.latestRetainedWeek(),
      retainedMonth: d.latestRetainedMonth(),
      finalAt
    })
  }
  for (const s of days) {
    try {
      out.days.push({ day: s, ms: dates.parse(s).getTime() })
    } catch (e) {
      out.days.push({ day: s, errCode: e.errCode, errMsg: e.errMsg })
    }
  }
  process.stdout.write(JSON.stringify(out))
})
