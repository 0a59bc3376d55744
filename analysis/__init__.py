"""Pure, seeded analysis: load and validate songs, cluster them, explain the clusters. Never imports dash."""
