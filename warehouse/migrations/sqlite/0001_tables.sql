-- Version 1: one table per kind of answer, and every answer as WeChat sent it.
-- Every primary key starts with appid, the Mini Program whose data the row is.

-- Every answer as WeChat sent it, one row per period asked.
CREATE TABLE IF NOT EXISTS wxa_raw_answer (
  appid TEXT NOT NULL,
  method TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  body TEXT NOT NULL,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, method, begin_date, end_date)
);

-- getDailyVisitTrend, getWeeklyVisitTrend, getMonthlyVisitTrend: one row per period.
CREATE TABLE IF NOT EXISTS wxa_visit_trend (
  appid TEXT NOT NULL,
  granularity TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ref_date TEXT NOT NULL,
  session_cnt INTEGER,
  visit_pv INTEGER,
  visit_uv INTEGER,
  visit_uv_new INTEGER,
  stay_time_uv REAL,
  stay_time_session REAL,
  visit_depth REAL,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, granularity, begin_date, ref_date)
);

-- getDailySummary: one row per day.
CREATE TABLE IF NOT EXISTS wxa_daily_summary (
  appid TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ref_date TEXT NOT NULL,
  visit_total INTEGER,
  share_pv INTEGER,
  share_uv INTEGER,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, begin_date, ref_date)
);

-- getDailyRetain, getWeeklyRetain, getMonthlyRetain: one row per period, cohort and key.
CREATE TABLE IF NOT EXISTS wxa_retain (
  appid TEXT NOT NULL,
  granularity TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ref_date TEXT NOT NULL,
  cohort TEXT NOT NULL,
  key_no INTEGER NOT NULL,
  value INTEGER,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, granularity, begin_date, cohort, key_no)
);

-- getVisitDistribution: one row per day, index and key.
CREATE TABLE IF NOT EXISTS wxa_visit_distribution (
  appid TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ref_date TEXT NOT NULL,
  index_name TEXT NOT NULL,
  key_no INTEGER NOT NULL,
  value INTEGER,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, begin_date, index_name, key_no)
);

-- getVisitPage: one row per day and page (WeChat lists the top 200).
CREATE TABLE IF NOT EXISTS wxa_visit_page (
  appid TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ref_date TEXT NOT NULL,
  item_no INTEGER NOT NULL,
  page_path TEXT NOT NULL,
  page_visit_pv INTEGER,
  page_visit_uv INTEGER,
  page_staytime_pv REAL,
  entrypage_pv INTEGER,
  exitpage_pv INTEGER,
  page_share_pv INTEGER,
  page_share_uv INTEGER,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, begin_date, item_no)
);

-- getUserPortrait: one row per snapshot (the last span_days days up to end_date), cohort, dimension and item.
CREATE TABLE IF NOT EXISTS wxa_user_portrait (
  appid TEXT NOT NULL,
  begin_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  span_days INTEGER NOT NULL,
  ref_date TEXT NOT NULL,
  cohort TEXT NOT NULL,
  dimension TEXT NOT NULL,
  item_no INTEGER NOT NULL,
  id INTEGER,
  name TEXT NOT NULL,
  value INTEGER,
  final INTEGER NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (appid, begin_date, end_date, cohort, dimension, item_no)
);
