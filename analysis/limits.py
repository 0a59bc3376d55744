"""Every limit a user can meet, defined once: the checks and the dashboard's controls both read these."""

K_LOWEST = 2  # a clustering of one group says nothing
K_HIGHEST = 50  # past this a sweep costs minutes and the names stop meaning anything
SEED_HIGHEST = 2**31 - 1  # what numpy's legacy seeding accepts

CLUSTER_NAME_MAX = 60  # characters; long enough for "Late-night acoustic covers", short enough for a legend

PLAYLIST_MAX_SONGS = 100_000
PLAYLIST_DEFAULT_SONGS = 50
PLAYLIST_NAME_MAX = 120  # characters of a playlist's name, which also names its file

# A songs CSV, counted after decompression: the full 96k-song file is 18.6 MB, so two million rows
# of it are about 400 MB. Both bound what one file may cost the server, gzip bombs included.
CSV_MAX_ROWS = 2_000_000
CSV_MAX_BYTES = 512 * 1024 * 1024
