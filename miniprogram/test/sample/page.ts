// A Mini Program page in TypeScript that uses the client: compiled with
// tsc --strict against analysis.d.ts and miniprogram-api-typings.
/// <reference types="miniprogram-api-typings" />
import { createAnalysis, dates, isOk, AnalysisError, Answer, Retain } from '../../analysis'

const analysis = createAnalysis({ wx }) // the Mini Program's own wx fits WxLike
const cloudRun = createAnalysis({ container: { env: 'prod-xxxxxxxx', service: 'wxanalysis', path: '/analysis' } })

function cohort (r: Answer<Retain>): number[] {
  const base = r.visitUvNew.find(kv => kv.key === 0)
  return r.visitUvNew.filter(kv => kv.key > 0).map(kv => (base && base.value ? kv.value / base.value : 0))
}

Page({
  data: { shares: [] as number[], visits: [] as number[], labels: [] as string[], total: 0, province: '', errMsg: '' },
  async onLoad () {
    try {
      const week = await analysis.getWeeklyRetain(dates.latestRetainedWeek())
      const series = await analysis.series({ method: 'getDailyVisitTrend', ...dates.lastDays(30) })
      const days = series.results.filter(isOk)
      const both = await cloudRun.batch([
        { action: 'getDailySummary', ...dates.yesterday() },
        { action: 'getUserPortrait', ...dates.lastDays(7) },
        { action: 'getPerformanceData', time: { beginTimestamp: 1609603200, endTimestamp: 1609689600 }, module: 10022, params: [] }
      ])
      const [summary, portrait, perf] = both.results
      this.setData({
        shares: cohort(week),
        visits: days.map(d => d.list[0].visitUv),
        labels: days.map(d => d.list[0].refDate),
        total: isOk(summary) ? summary.list[0].visitTotal : 0,
        province: isOk(portrait) && portrait.visitUv.province.length > 0 ? portrait.visitUv.province[0].name : '',
        errMsg: isOk(perf) ? perf.data.body.tables.map(t => t.zh + ': ' + t.lines[0].fields[0].value).join(', ') : perf.errMsg
      })
      const monday: Date = dates.parse(dates.lastWeek().beginDate)
      const final: Date | null = dates.at(Date.now()).finalAt('getWeeklyRetain', dates.format(monday))
      console.log(final && final.getTime())
    } catch (e) {
      if (e instanceof AnalysisError) this.setData({ errMsg: `${e.errCode}: ${e.errMsg}` })
    }
  }
})
