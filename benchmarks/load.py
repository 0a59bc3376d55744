"""Load test: N simulated users against a dashboard served by several gunicorn workers on loopback.

Each user opens the app, starts a run (or gets a stored one back at once), waits for it, draws it,
switches k, filters a playlist and exports it, again and again until the time is up, pausing between
steps as a person reading the page does (``--think`` seconds on average; 0 for a stress test). Users speak
Dash's own HTTP protocol, as the browser's renderer does: POST /_dash-update-component with the
callback's inputs and state, and for the background run the cacheKey/job polling.

    python -m benchmarks.load --users 20 --seconds 60            # starts `amc serve --workers 4` itself
    python -m benchmarks.load --url http://127.0.0.1:8050 ...    # or drives a server already running

Reports requests, errors and latency percentiles per kind of request; exits 1 on any error.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import requests
from dash._utils import clean_property_name, split_callback_id

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATTERN = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)
POLL_SECONDS = 0.3
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
JOB_TIMEOUT = 300.0
SEEDS = (1, 2, 3, 4)  # a few distinct runs: the first user to ask computes, the others reuse
CLUSTER_KEY = '{"panel":"playlist","part":"clusters"}.value'
K_CHOICE_KEY = '{"panel":"elbow","part":"wanted-k"}.data'
RUN_STATE_KEY = "run-state.data"
SHOWN_PANELS = ("pca", "elbow", "heatmap", "naming", "artists", "playlist")  # the tabs a visit clicks through


class UserError(Exception):
    """Something a real user would have seen go wrong; the message says what."""


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    runs_seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def fail(self, kind: str, message: str) -> None:
        with self.lock:
            self.errors[kind].append(message)


def component_key(component_id) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def collect_values(tree, values: dict) -> None:
    """Every ``id.prop`` value in a component tree, as the renderer knows them."""
    if isinstance(tree, list):
        for item in tree:
            collect_values(item, values)
    elif isinstance(tree, dict) and "props" in tree:
        props = tree["props"]
        if "id" in props:
            key = component_key(props["id"])
            for prop, value in props.items():
                values[f"{key}.{prop}"] = value
        for value in props.values():
            if isinstance(value, (list, dict)):
                collect_values(value, values)


class DashUser:
    """One browser: a cookie session, one page load's end_id, the component values it has seen."""

    def __init__(self, base: str, tally: Tally, auth: tuple[str, str] | None, think: float = 0.0,
                 rng: random.Random | None = None) -> None:
        self.base = base.rstrip("/")
        self.tally = tally
        self.think = think
        self.rng = rng or random.Random()
        self.http = requests.Session()
        self.http.auth = auth
        self.values: dict = {}
        self.callbacks: list[dict] = []
        self.end_id = ""

    def pause(self) -> None:
        if self.think:
            time.sleep(self.think * self.rng.uniform(0.5, 1.5))

    def timed(self, kind: str, method: str, path: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        answer = self.http.request(method, self.base + path, timeout=60, **kwargs)
        self.tally.record(kind, time.perf_counter() - started)
        if answer.status_code not in (200, 204):
            raise UserError(f"{method} {path.split('?')[0]} answered {answer.status_code}: {answer.text[:200]}")
        return answer

    def send_file(self, filename: str, data: bytes) -> dict:
        """What the page's upload check sends to the upload route, and puts in the upload's store."""
        sent = self.timed("upload", "POST", "/_amc/upload", data=data,
                          headers={"Content-Type": "application/octet-stream"}).json()
        return {"filename": filename, "upload": sent["upload"]}

    def open_app(self) -> None:
        page = self.timed("page", "GET", "/").text
        found = CONFIG_PATTERN.search(page)
        if found is None:
            raise UserError("the page has no Dash config")
        self.end_id = json.loads(found.group(1)).get("end_id", "")
        self.values = {}
        collect_values(self.timed("layout", "GET", "/_dash-layout").json(), self.values)
        if not self.callbacks:
            # A callback without outputs (a panel warming its cache) changes nothing a user would see.
            self.callbacks = [entry for entry in self.timed("dependencies", "GET", "/_dash-dependencies").json()
                              if not entry.get("no_output")]

    def callback(self, output: str, trigger: str) -> dict:
        for entry in self.callbacks:
            written = {f"{t['id']}.{clean_property_name(t['property'])}" for t in _targets(entry["output"])}
            if output in written and trigger in {f"{i['id']}.{i['property']}" for i in entry["inputs"]}:
                return entry
        raise UserError(f"no callback writes {output} on {trigger}")

    def open_link(self, search: str) -> dict:
        """A link typed or shared into the address bar: what the page's ``amc.linkOpened`` hands the server."""
        self.values["link-opened.data"] = {"search": search, "at": time.time()}
        return self.fire("link", self.callback("run-state.data", "link-opened.data"), "link-opened.data")

    def fire(self, kind: str, entry: dict, trigger: str) -> dict:
        """POST one callback as the renderer would; returns {component key: {prop: value}} and remembers it."""
        body = self._body(entry, trigger)
        path = "/_dash-update-component?" + requests.compat.urlencode({"endId": self.end_id})
        answer = self.timed(kind, "POST", path, json=body)
        if answer.status_code == 204:
            return {}
        data = answer.json()
        if entry.get("background"):
            data = self._poll(entry, body, data)
            if data is None:
                return {}
        # set_props (here: the error handler's alert) arrives beside the outputs, as the renderer applies it
        return self._remember({**data.get("response", {}), **data.get("sideUpdate", {})})

    def fire_all_on(self, kind: str, trigger: str, first_output: str) -> dict:
        """The callbacks a changed value sets off, the one writing ``first_output`` first; their answers."""
        entries = [e for e in self.callbacks
                   if trigger in {f"{i['id']}.{i['property']}" for i in e["inputs"]} and not _wildcard(e)
                   and not e.get("background") and not e.get("clientside_function")]  # the page's own work
        entries.sort(key=lambda e: first_output not in e["output"])
        answers = {}
        for entry in entries:
            answers.update(self.fire(kind if first_output in entry["output"] else "panel", entry, trigger))
        return answers

    def _poll(self, entry: dict, body: dict, data: dict) -> dict | None:
        started = time.perf_counter()
        handles = {"endId": self.end_id, "cacheKey": data.get("cacheKey", ""), "job": data.get("job", "")}
        blank = {**body, "inputs": [{**i, "value": None} for i in body["inputs"]],
                 "state": [{**s, "value": None} for s in body["state"]]}
        while "response" not in data:
            if time.perf_counter() - started > JOB_TIMEOUT:
                raise UserError(f"the clustering job gave no answer within {JOB_TIMEOUT:.0f} s")
            time.sleep(entry["background"].get("interval", 500) / 1000)
            answer = self.timed("job-poll", "POST", "/_dash-update-component?" + requests.compat.urlencode(handles),
                                json=blank)
            if answer.status_code == 204:
                self.tally.record("job", time.perf_counter() - started)
                return None
            data = answer.json()
        self.tally.record("job", time.perf_counter() - started)
        return data

    def _body(self, entry: dict, trigger: str) -> dict:
        outputs = [{"id": _parsed_id(t["id"]), "property": clean_property_name(t["property"])}
                   for t in _targets(entry["output"])]
        multi = isinstance(split_callback_id(entry["output"]), list)
        return {
            "output": entry["output"],
            "outputs": outputs if multi else outputs[0],
            "inputs": [self._dependency(d) for d in entry["inputs"]],
            "state": [self._dependency(d) for d in entry.get("state", [])],
            "changedPropIds": [trigger],
        }

    def _dependency(self, dependency: dict) -> dict:
        key = f"{dependency['id']}.{dependency['property']}"
        return {"id": _parsed_id(dependency["id"]), "property": dependency["property"], "value": self.values.get(key)}

    def _remember(self, response: dict) -> dict:
        for component, props in response.items():
            for prop, value in props.items():
                self.values[f"{component}.{prop}"] = value
                if isinstance(value, (list, dict)):
                    collect_values(value, self.values)
        return response


def _targets(output: str) -> list[dict]:
    parsed = split_callback_id(output)
    return parsed if isinstance(parsed, list) else [parsed]


def _parsed_id(text: str):
    return json.loads(text) if text.startswith("{") else text


def _wildcard(entry: dict) -> bool:
    return any('["ALL"]' in d["id"] or '["MATCH"]' in d["id"] for d in entry["inputs"] + entry.get("state", []))


def view_key(panel: str) -> str:
    """The host's store telling a panel the run and k it is shown at, as the callback map names it."""
    return json.dumps({"host": "view", "panel": panel}, sort_keys=True, separators=(",", ":")) + ".data"


def show_run(user: DashUser, panels: tuple[str, ...] = SHOWN_PANELS) -> dict:
    """What the page does with a new run state: the summary and the names follow it, then each panel is
    shown in turn, as a user clicking through the tabs (the page's clientside step sets the panel's view)."""
    answers = {}
    state = user.values.get(RUN_STATE_KEY) or {}
    answers.update(user.fire_all_on("draw", RUN_STATE_KEY, "run-summary.children"))
    for panel in panels:
        key = view_key(panel)
        user.values[key] = {"dataset_id": state.get("dataset_id"), "run_id": state.get("run_id"), "k": state.get("k")}
        answers.update(user.fire_all_on("draw", key, json.dumps({"host": "body", "panel": panel},
                                                                  sort_keys=True, separators=(",", ":"))))
    return answers


def one_visit(user: DashUser) -> None:
    rng = user.rng
    user.open_app()
    user.pause()
    user.values["param-seed.value"] = rng.choice(SEEDS)
    asked = user.fire("run", user.callback("run-request.data", "run-button.n_clicks"), "run-button.n_clicks")
    if asked.get("job-alert", {}).get("children"):
        raise UserError(f"the run was refused: {json.dumps(asked['job-alert']['children'])[:200]}")
    if "run-request" in asked:  # computed by a job; a stored run comes in the answer itself
        user.values.pop("job-outcome.data", None)
        job = user.callback("job-outcome.data", "run-request.data")
        user.fire("job-start", job, "run-request.data")
        outcome = user.values.get("job-outcome.data")
        if not outcome or not outcome.get("run_id"):
            user.values["job-watch.data"] = False  # what the renderer sets when the job ends
            told = user.fire("settle", user.callback("job-alert.children", "job-watch.data"), "job-watch.data")
            raise UserError(f"the run ended without a result: {json.dumps(told)[:300]}")
        user.fire("callback", user.callback(RUN_STATE_KEY, "job-outcome.data"), "job-outcome.data")
        asked_for = outcome["run_id"]
    else:
        asked_for = asked.get("run-state", {}).get("data", {}).get("run_id")
    state = user.values.get(RUN_STATE_KEY) or {}
    if not asked_for or state.get("run_id") != asked_for:
        raise UserError(f"asked for run {asked_for} but was shown {state.get('run_id')}")
    user.tally.runs_seen.add(state["run_id"])
    show_run(user)
    user.pause()

    options = [o["value"] for o in user.values.get('{"panel":"elbow","part":"k"}.options') or []]
    other_ks = [int(k) for k in options if int(k) != state["k"]]
    if other_ks:
        user.values[K_CHOICE_KEY] = rng.choice(other_ks)
        user.fire("switch-k", user.callback(RUN_STATE_KEY, K_CHOICE_KEY), K_CHOICE_KEY)
        show_run(user, ("elbow", "playlist"))
        user.pause()

    user.values[CLUSTER_KEY] = [0]
    playlist = user.fire("playlist", user.callback('{"panel":"playlist","part":"grid"}.rowData', CLUSTER_KEY), CLUSTER_KEY)
    href = playlist.get('{"panel":"playlist","part":"export-csv"}', {}).get("href")
    if not href:
        raise UserError(f"the playlist gave no export link: {json.dumps(playlist)[:200]}")
    user.pause()
    header = user.timed("export", "GET", href).text.partition("\n")[0]
    if "cluster_name" not in header:
        raise UserError(f"the playlist export has no cluster column: {header[:200]}")
    user.pause()


def simulate(base: str, users: int, seconds: float, auth, think: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds

    def one_user(number: int) -> None:
        user = DashUser(base, tally, auth, think, random.Random(number))
        while time.monotonic() < deadline:
            try:
                one_visit(user)
            except (UserError, requests.RequestException, ValueError, KeyError) as error:
                tally.fail("visit", f"user {number}: {type(error).__name__}: {error}")
                time.sleep(0.5)

    threads = [threading.Thread(target=one_user, args=(n,), daemon=True) for n in range(users)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # users arrive over a second, not in one instant
    for thread in threads:
        thread.join(timeout=seconds + JOB_TIMEOUT + 60)
    return tally


def report(tally: Tally, users: int, seconds: float, think: float) -> str:
    lines = [f"{users} users for {seconds:.0f} s, pausing {think:g} s on average between steps; "
             f"{len(tally.runs_seen)} distinct runs shown",
             f"{'kind':<14}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"]
    for kind in sorted(set(tally.latencies) | set(tally.errors)):
        times = sorted(tally.latencies.get(kind, []))
        p50, p95, most = (_percentile(times, 50), _percentile(times, 95), times[-1]) if times else (0, 0, 0)
        lines.append(f"{kind:<14}{len(times):>9}{len(tally.errors.get(kind, [])):>8}"
                     f"{p50 * 1000:>9.0f}{p95 * 1000:>9.0f}{most * 1000:>9.0f}")
    for kind, messages in tally.errors.items():
        for message in sorted(set(messages))[:5]:
            lines.append(f"error ({kind}): {message}")
    return "\n".join(lines)


def _percentile(sorted_times: list[float], percent: float) -> float:
    if len(sorted_times) == 1:
        return sorted_times[0]
    return statistics.quantiles(sorted_times, n=100, method="inclusive")[int(percent) - 1]


class Server:
    """``amc serve --workers`` on a free loopback port, in its own process group so that stop() ends it all."""

    def __init__(self, cache_dir: Path, workers: int = 4, threads: int = 4, env: dict | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.workers = workers
        self.threads = threads
        self.env = {**os.environ, "AMC_CACHE_DIR": str(cache_dir), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.base = ""

    def start(self, timeout: float = 60) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-c", "import app, sys; sys.exit(app.main())", "serve", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(self.workers), "--threads", str(self.threads)]
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.cache_dir / "server.log", "a")
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        self.base = f"http://127.0.0.1:{port}"
        self._wait_for_health(timeout)
        return self.base

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_text(self) -> str:
        return (self.cache_dir / "server.log").read_text(errors="replace")

    def _wait_for_health(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped at start (exit code {self.process.returncode}):\n"
                                   + self.log_text()[-2000:])
            try:
                if requests.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server at {self.base} did not answer /health within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long users keep coming back")
    parser.add_argument("--url", help="a running server (on loopback); default: start `amc serve --workers` here")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--think", type=float, default=3.0, help="seconds a user pauses between steps, on average")
    parser.add_argument("--user", help="user:password when the server asks for a login")
    args = parser.parse_args(argv)
    auth = tuple(args.user.split(":", 1)) if args.user else None
    if args.url and urlparse(args.url).hostname not in LOOPBACK_HOSTS:
        parser.error(f"--url must point at this machine ({', '.join(LOOPBACK_HOSTS)}): load tests stay on loopback")
    if args.url:
        tally = simulate(args.url, args.users, args.seconds, auth, args.think)
    else:
        with tempfile.TemporaryDirectory(prefix="amc-load-") as cache:
            server = Server(Path(cache), args.workers, args.threads)
            try:
                tally = simulate(server.start(), args.users, args.seconds, auth, args.think)
            finally:
                server.stop()
    print(report(tally, args.users, args.seconds, args.think))
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
