// dashboard: a retention cohort table (getWeeklyRetain, week by week) and a
// visits line chart (getDailyVisitTrend, day by day), each from one series
// call through analysis.js; on failure it shows the errMsg.
'use strict'

const { createAnalysis, dates, isOk } = require('../../analysis')
const { drawLine, cohortRows } = require('./chart')

const DAY = 24 * 60 * 60 * 1000

Component({
  properties: {
    name: { type: String, value: 'analysis' }, // the cloud function
    env: { type: String, value: '' }, // its cloud environment; '' for wx.cloud.init's
    container: { type: Object, value: null }, // {env, service, path}: WeChat Cloud Run instead
    weeks: { type: Number, value: 6 }, // cohorts in the table
    days: { type: Number, value: 30 } // days in the chart
  },
  data: {
    loading: true,
    errCode: 0,
    errMsg: '',
    columns: ['+1', '+2', '+3', '+4'],
    rows: [],
    visits: [],
    firstDay: '',
    lastDay: ''
  },
  lifetimes: {
    attached () {
      this.load()
    }
  },
  methods: {
    // load asks for both series and shows them, or the error.
    async load () {
      this.setData({ loading: true, errCode: 0, errMsg: '' })
      try {
        const d = this.data
        const analysis = createAnalysis(d.container ? { container: d.container } : { name: d.name, env: d.env || undefined })
        const week = dates.lastWeek()
        const firstMonday = dates.format(dates.parse(week.beginDate).getTime() - (d.weeks - 1) * 7 * DAY)
        const range = dates.lastDays(d.days)
        const answers = await Promise.all([
          analysis.series({ method: 'getWeeklyRetain', beginDate: firstMonday, endDate: week.endDate }),
          analysis.series({ method: 'getDailyVisitTrend', beginDate: range.beginDate, endDate: range.endDate })
        ])
        const days = answers[1].results.filter(isOk).map((r) => r.list[0] || { refDate: '', visitUv: 0 })
        const visits = days.map((r) => r.visitUv)
        this.setData({
          loading: false,
          rows: cohortRows(answers[0].results, d.columns.length),
          visits,
          firstDay: days.length ? days[0].refDate : '',
          lastDay: days.length ? days[days.length - 1].refDate : ''
        })
        this.draw(visits)
      } catch (err) {
        this.setData({ loading: false, errCode: typeof err.errCode === 'number' ? err.errCode : -1, errMsg: err.errMsg || String(err.message || err) })
      }
    },
    // draw paints the visits on the canvas once it is laid out.
    draw (visits) {
      const query = this.createSelectorQuery()
      query.select('#visits').fields({ node: true, size: true }).exec((res) => {
        const r = res && res[0]
        if (!r || !r.node || !r.node.getContext) return // no canvas node (not laid out yet)
        const canvas = r.node
        const ratio = (wx.getWindowInfo ? wx.getWindowInfo() : wx.getSystemInfoSync()).pixelRatio || 1
        canvas.width = r.width * ratio
        canvas.height = r.height * ratio
        const ctx = canvas.getContext('2d')
        ctx.scale(ratio, ratio)
        drawLine(ctx, r.width, r.height, visits)
      })
    }
  }
})
