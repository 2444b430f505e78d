-- Version 3: the shared store of a third-party platform (WECHAT_TOKEN_MODE=component) without Redis:
-- the verify ticket, the component and authorizer tokens, their fetch locks and the pushes seen,
-- so that every instance uses the latest ticket and each token is fetched once.

-- name: the key; value: its bytes; expires_ms (Unix milliseconds, the function's clock): a row at or
-- past it is absent.
CREATE TABLE IF NOT EXISTS wxa_shared (
  name VARCHAR(191) NOT NULL PRIMARY KEY,
  value MEDIUMBLOB NOT NULL,
  expires_ms BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
