-- Named on/off switches shared by every process of a cluster (e.g. the pause of the poussetaches push API). A name
-- without a row is off.
CREATE TABLE IF NOT EXISTS switch (
  name VARCHAR(128) NOT NULL,
  is_on BOOL NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
