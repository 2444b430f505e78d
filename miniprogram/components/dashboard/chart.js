// chart.js: the dashboard's drawing and table, as plain functions of their
// data (no chart library): a line chart on a canvas 2D context, and the rows
// of a retention cohort table.
'use strict'

const { isOk } = require('../../analysis')

// layout places values on a width × height chart with pad pixels of margin:
// x evenly from left to right, y from the bottom (0) to the top (the largest
// value, or 1 when all are 0).
function layout (values, width, height, pad) {
  const max = Math.max.apply(null, values.concat([0])) || 1
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0
  return values.map((v, i) => ({
    x: pad + i * step,
    y: height - pad - (v / max) * (height - 2 * pad)
  }))
}

// drawLine draws values as a line chart on ctx (a canvas 2D context): a
// base line, the line through the points, a dot on the last one and the
// largest value written at the top left. It returns the points.
function drawLine (ctx, width, height, values, options) {
  const o = Object.assign({ pad: 24, color: '#07c160', axis: '#d9d9d9', text: '#888888', font: '12px sans-serif' }, options || {})
  const points = layout(values, width, height, o.pad)
  ctx.clearRect(0, 0, width, height)
  ctx.strokeStyle = o.axis
  ctx.lineWidth = 1
  ctx.beginPath()
  ctx.moveTo(o.pad, height - o.pad)
  ctx.lineTo(width - o.pad, height - o.pad)
  ctx.stroke()
  if (points.length === 0) return points
  ctx.strokeStyle = o.color
  ctx.lineWidth = 2
  ctx.beginPath()
  points.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)))
  ctx.stroke()
  const last = points[points.length - 1]
  ctx.fillStyle = o.color
  ctx.beginPath()
  ctx.arc(last.x, last.y, 3, 0, 2 * Math.PI)
  ctx.fill()
  ctx.fillStyle = o.text
  ctx.font = o.font
  ctx.fillText(String(Math.max.apply(null, values)), o.pad, o.pad - 8)
  return points
}

// percent writes part of whole as a percentage with one decimal.
function percent (part, whole) {
  return whole > 0 ? (Math.round((part / whole) * 1000) / 10).toFixed(1) + '%' : '—'
}

// cohortRows turns a series of getWeeklyRetain items into table rows: the
// week, its new users (key 0) and the share of them back 1 to columns
// weeks later; a key WeChat has not reached yet is blank, and a failed item
// keeps its errMsg.
function cohortRows (items, columns) {
  return items.map((item) => {
    if (!isOk(item)) return { week: '', users: '—', cells: [], errMsg: item.errMsg }
    const byKey = {}
    for (const kv of item.visitUvNew) byKey[kv.key] = kv.value
    const users = byKey[0] || 0
    const cells = []
    for (let k = 1; k <= columns; k++) cells.push(k in byKey ? percent(byKey[k], users) : '')
    const monday = item.refDate.slice(0, 8)
    return { week: monday.slice(4, 6) + '-' + monday.slice(6, 8), users: String(users), cells, errMsg: '' }
  })
}

module.exports = { layout, drawLine, cohortRows, percent }
