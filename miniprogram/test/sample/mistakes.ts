// Mistakes the types must catch: each line marked MISTAKE is one tsc error.
/// <reference types="miniprogram-api-typings" />
import { createAnalysis, dates } from '../../analysis'

const analysis = createAnalysis({ wx })

export async function load (): Promise<number> {
  const r = await analysis.getWeeklyRetain(dates.latestRetainedWeek())
  const a = r.visitUvNw // MISTAKE: a typo in visitUvNew
  await analysis.getDailySummary({ beginDate: '20170306' }) // MISTAKE: endDate missing
  await analysis.series({ method: 'getUserPortrait', beginDate: '20170306', endDate: '20170312' }) // MISTAKE: no periods
  await analysis.batch([{ action: 'getWeeklyRetian', beginDate: '20170306', endDate: '20170312' }]) // MISTAKE: no such method
  const s = await analysis.series({ method: 'getDailyVisitTrend', ...dates.lastDays(7) })
  const uv: string = s.results[0].errMsg
  const d: number = r.refDate // MISTAKE: refDate is a string
  return s.results[0].list[0].visitUv + d + uv.length + (a ? 1 : 0) // MISTAKE: a failed item has no list; isOk first
}
createAnalysis({ container: { env: 'prod' } }) // MISTAKE: service missing
