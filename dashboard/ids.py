"""Component ids of the shell, shared by the layout (app.py) and the job callbacks (jobs.py)."""
from dashboard.host import NAMES, PANEL_LINK, RUN_STATE, SELECTION, UPLOAD_LIMIT  # noqa: F401 (the host owns the state it hands panels)

URL = "url"
NAMES_POLL = "names-poll"  # the page asks for the team's newest names on this beat
RUN_REQUEST = "run-request"  # the ticket of the run asked for last: {ticket, dataset_id, params, run_id}
JOB_OUTCOME = "job-outcome"  # {ticket, dataset_id, run_id} of a finished or already stored run
JOB_WATCH = "job-watch"  # True while the background run is in flight; its fall triggers the settling

DATASET_PICKER = "dataset-picker"
UPLOAD = "upload"
UPLOAD_ALERT = "upload-alert"
REMOVE_DATASET = "remove-dataset"  # the confirmation around the button
REMOVE_DATASET_BUTTON = "remove-dataset-button"

FEATURES = "param-features"
LOG_FEATURES = "param-log-features"
CLIP = "param-clip"
CLIP_RANGE = "param-clip-range"
K_MIN = "param-k-min"
K_MAX = "param-k-max"
SEED = "param-seed"

RUN_BUTTON = "run-button"
CANCEL_BUTTON = "cancel-button"
PROGRESS = "run-progress"
PROGRESS_WORDS = "run-progress-words"
JOB_ALERT = "job-alert"

RUN_SUMMARY = "run-summary"
PANEL_TABS = "panel-tabs"  # which panel is on screen
PLOTLY_PRELOAD = "plotly-preload"  # a hidden graph: plotly.js loads while the user still chooses data
UPLOAD_ACCEPTED = "upload-accepted"  # {filename, contents}: an upload within the size limit
UPLOAD_REFUSED = "upload-refused"  # {filename, bytes, at}: an upload the browser refused as too large
PREFETCH = "prefetch"  # links of the panel about to be shown, fetched by the browser while it is drawn
SIDEBAR_RUN = "sidebar-run"  # the run whose data and parameters the sidebar last took
LINK_OPENED = "link-opened"  # the page's search when it names another run than the one shown
