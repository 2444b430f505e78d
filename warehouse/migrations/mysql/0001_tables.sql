-- Version 1: one table per kind of answer, and every answer as WeChat sent it.
-- Every primary key starts with appid, the Mini Program whose data the row is.

-- Every answer as WeChat sent it, one row per period asked.
CREATE TABLE IF NOT EXISTS wxa_raw_answer (
  appid VARCHAR(32) NOT NULL,
  method VARCHAR(32) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  body MEDIUMTEXT NOT NULL,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, method, begin_date, end_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- getDailyVisitTrend, getWeeklyVisitTrend, getMonthlyVisitTrend: one row per period.
CREATE TABLE IF NOT EXISTS wxa_visit_trend (
  appid VARCHAR(32) NOT NULL,
  granularity VARCHAR(8) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  ref_date VARCHAR(32) NOT NULL,
  session_cnt BIGINT,
  visit_pv BIGINT,
  visit_uv BIGINT,
  visit_uv_new BIGINT,
  stay_time_uv DOUBLE,
  stay_time_session DOUBLE,
  visit_depth DOUBLE,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, granularity, begin_date, ref_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- getDailySummary: one row per day.
CREATE TABLE IF NOT EXISTS wxa_daily_summary (
  appid VARCHAR(32) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  ref_date VARCHAR(32) NOT NULL,
  visit_total BIGINT,
  share_pv BIGINT,
  share_uv BIGINT,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, begin_date, ref_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- getDailyRetain, getWeeklyRetain, getMonthlyRetain: one row per period, cohort and key.
CREATE TABLE IF NOT EXISTS wxa_retain (
  appid VARCHAR(32) NOT NULL,
  granularity VARCHAR(8) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  ref_date VARCHAR(32) NOT NULL,
  cohort VARCHAR(16) NOT NULL,
  key_no BIGINT NOT NULL,
  value BIGINT,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, granularity, begin_date, cohort, key_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- getVisitDistribution: one row per day, index and key.
CREATE TABLE IF NOT EXISTS wxa_visit_distribution (
  appid VARCHAR(32) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  ref_date VARCHAR(32) NOT NULL,
  index_name VARCHAR(64) NOT NULL,
  key_no BIGINT NOT NULL,
  value BIGINT,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, begin_date, index_name, key_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- getVisitPage: one row per day and page (WeChat lists the top 200).
CREATE TABLE IF NOT EXISTS wxa_visit_page (
  appid VARCHAR(32) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  ref_date VARCHAR(32) NOT NULL,
  item_no BIGINT NOT NULL,
  page_path VARCHAR(1024) NOT NULL,
  page_visit_pv BIGINT,
  page_visit_uv BIGINT,
  page_staytime_pv DOUBLE,
  entrypage_pv BIGINT,
  exitpage_pv BIGINT,
  page_share_pv BIGINT,
  page_share_uv BIGINT,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, begin_date, item_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- getUserPortrait: one row per snapshot (the last span_days days up to end_date), cohort, dimension and item.
CREATE TABLE IF NOT EXISTS wxa_user_portrait (
  appid VARCHAR(32) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  span_days BIGINT NOT NULL,
  ref_date VARCHAR(32) NOT NULL,
  cohort VARCHAR(16) NOT NULL,
  dimension VARCHAR(16) NOT NULL,
  item_no BIGINT NOT NULL,
  id BIGINT,
  name VARCHAR(255) NOT NULL,
  value BIGINT,
  final BOOLEAN NOT NULL,
  fetched_at DATETIME(3) NOT NULL,
  PRIMARY KEY (appid, begin_date, end_date, cohort, dimension, item_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
