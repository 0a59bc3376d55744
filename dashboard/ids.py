"""Component ids of the shell, shared by the layout (app.py) and the job callbacks (jobs.py)."""

URL = "url"
RUN_STATE = "run-state"  # {dataset_id, run_id, k, names_version}: everything the browser keeps
RUN_REQUEST = "run-request"  # the ticket of the run asked for last: {ticket, dataset_id, params, run_id}
JOB_OUTCOME = "job-outcome"  # {ticket, dataset_id, run_id} of a finished or already stored run
JOB_WATCH = "job-watch"  # True while the background run is in flight; its fall triggers the settling

DATASET_PICKER = "dataset-picker"
UPLOAD = "upload"
UPLOAD_ALERT = "upload-alert"

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
PANEL_AREA = "panel-area"
UPLOAD_ACCEPTED = "upload-accepted"  # {filename, contents}: an upload within the size limit
UPLOAD_REFUSED = "upload-refused"  # {filename, bytes, at}: an upload the browser refused as too large
UPLOAD_LIMIT = "upload-limit"  # the limit in bytes, for the browser's check
