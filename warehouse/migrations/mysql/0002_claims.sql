-- Version 2: claims, so that two syncs at once never fetch or write a period twice;
-- and the index a sync plans with.

-- A period's claim: owner is the sync that holds or last held it, expires_ms (Unix milliseconds) when
-- a crashed sync's claim lapses (0: not held), fetched_ms when the period was last written.
CREATE TABLE IF NOT EXISTS wxa_sync_claim (
  appid VARCHAR(32) NOT NULL,
  method VARCHAR(32) NOT NULL,
  begin_date DATE NOT NULL,
  end_date DATE NOT NULL,
  owner VARCHAR(64) NOT NULL,
  expires_ms BIGINT NOT NULL,
  fetched_ms BIGINT NOT NULL,
  PRIMARY KEY (appid, method, begin_date, end_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The syncs running: a sync leaves alone what one that began before it and still runs has written.
-- expires_ms: when a crashed one stops counting.
CREATE TABLE IF NOT EXISTS wxa_sync_run (
  appid VARCHAR(32) NOT NULL,
  owner VARCHAR(64) NOT NULL,
  started_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  PRIMARY KEY (appid, owner)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The periods a sync can skip.
CREATE INDEX wxa_raw_answer_final ON wxa_raw_answer (appid, final);
