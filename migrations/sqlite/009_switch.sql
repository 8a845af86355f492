-- Named on/off switches shared by every process of a cluster (e.g. the pause of the poussetaches push API). A name
-- without a row is off.
CREATE TABLE IF NOT EXISTS switch (
  name TEXT PRIMARY KEY NOT NULL,
  is_on INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
