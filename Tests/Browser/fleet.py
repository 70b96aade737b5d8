"""A real lamplighterd and lampsim fleet on loopback, and a real headless Chromium, for the
dashboard's browser tests and benchmark (Tests/Browser/test_dashboard.py,
Benchmarks/dashboard-bench).

Everything started here is stopped by `close()` (also on an exception, and at interpreter
exit as a last resort); waits look at a condition until a deadline, never sleep a fixed time.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Amsterdam, as in the README.
LATITUDE = 52.3676
LONGITUDE = 4.9041


class Timeout(AssertionError):
    pass


def wait_until(what, condition, timeout=30.0, interval=0.05):
    """Polls `condition` until it returns a truthy value, which is returned; fails naming
    `what` once `timeout` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout} s waiting until {what}")
        time.sleep(interval)


_running = []


def _stop_all():
    for process in list(_running):
        stop(process)


atexit.register(_stop_all)


def start(arguments, **kwargs):
    process = subprocess.Popen(arguments, **kwargs)
    _running.append(process)
    return process


def stop(process, sig=signal.SIGTERM, timeout=10):
    """Stops a process this module started and waits for it; SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            process.send_signal(sig)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    if process in _running:
        _running.remove(process)


class Fleet:
    """A daemon in a temporary directory with registered lamps, and simulators for them."""

    def __init__(self, products=None, run_arguments=(), prefix="lamplighter-browser-", fast=True):
        """`fast`: ping every 2 s and resend after 2 s (tests see a silent lamp go offline
        soon); otherwise the daemon's defaults (20 s, 10 s), as a benchmark should run."""
        self.products = products or os.environ.get("LAMPLIGHTER_PRODUCTS") or os.path.join(ROOT, ".build", "release")
        for product in ("lamplighterd", "lampsim", "lampctl"):
            if not os.access(os.path.join(self.products, product), os.X_OK):
                raise RuntimeError(f"{product} is not built in {self.products}: run scripts/build.sh first")
        self.directory = tempfile.mkdtemp(prefix=prefix)
        self.run_arguments = (["--ping-interval", "2", "--request-timeout", "2"] if fast else []) + list(run_arguments)
        self.daemon = None
        self.simulators = []
        self.api_port = 0
        self.lamp_port = 0
        self.admin_token = ""
        self.output_path = os.path.join(self.directory, "lamplighterd.out")
        self.logs = []

    # Paths and storage options.
    def product(self, name):
        return os.path.join(self.products, name)

    @property
    def storage(self):
        return ["--db", os.path.join(self.directory, "lamplighter.db"), "--key-file", os.path.join(self.directory, "lamplighter.key")]

    @property
    def key_file(self):
        return os.path.join(self.directory, "lamplighter.key")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.api_port}"

    def generate(self, count, prefix="lamp-", latitude=LATITUDE, longitude=LONGITUDE, extra=()):
        """Registers numbered lamps on a street grid around (latitude, longitude), on the
        database directly: the daemon must be stopped (only `run` creates a database, so a
        first call starts it once and stops it again)."""
        if not os.path.exists(os.path.join(self.directory, "lamplighter.db")):
            self.start_daemon()
            stop(self.daemon)
            self.daemon = None
        arguments = [self.product("lamplighterd"), "lamps", "generate", "--count", str(count), "--prefix", prefix]
        if latitude is not None:
            arguments += ["--latitude", str(latitude), "--longitude", str(longitude)]
        subprocess.run(arguments + list(extra) + ["--db", os.path.join(self.directory, "lamplighter.db")], check=True, capture_output=True, timeout=120)

    def generate_live(self, count, prefix="lamp-", latitude=LATITUDE, longitude=LONGITUDE):
        """Registers numbered lamps through the running daemon, as the README does (`lampctl
        lamps generate`, an admin token): the daemon knows them at once."""
        arguments = [
            self.product("lampctl"), "lamps", "generate", "--count", str(count), "--prefix", prefix,
            "--latitude", str(latitude), "--longitude", str(longitude), "--server", self.url, "--token", self.admin_token,
        ]
        subprocess.run(arguments, check=True, capture_output=True, timeout=120)

    def start_daemon(self):
        token_file = os.path.join(self.directory, "lamplighter.admin-token")
        arguments = [
            self.product("lamplighterd"), "run", *self.storage, "--lamp-host", "127.0.0.1", "--lamp-port", "0", "--api-port", "0",
            "--admin-token-file", token_file, "--log-level", "warning", "--timezone", "UTC0", "--latitude", str(LATITUDE), "--longitude", str(LONGITUDE), *self.run_arguments,
        ]
        output = open(self.output_path, "w")
        self.logs.append(output)
        self.daemon = start(arguments, stdout=output, stderr=subprocess.STDOUT, cwd=self.directory)

        def ready():
            if self.daemon.poll() is not None:
                raise RuntimeError(f"lamplighterd ended ({self.daemon.returncode}): {self.daemon_output()}")
            return "lamplighterd: ready" in self.daemon_output()

        wait_until("lamplighterd says it is ready", ready, timeout=60)
        text = self.daemon_output()
        self.api_port = int(re.search(r"operator API on http://127\.0\.0\.1:(\d+)/", text).group(1))
        self.lamp_port = int(re.search(r"lamps connect to ws://127\.0\.0\.1:(\d+)/", text).group(1))
        with open(token_file) as file:
            self.admin_token = file.read().strip()

    def daemon_output(self):
        with open(self.output_path) as file:
            return file.read()

    def simulate(self, count, prefix="lamp-", extra=()):
        """Starts a lampsim process for `count` lamps PREFIX0001...; returns it."""
        arguments = [
            self.product("lampsim"), "--url", f"ws://127.0.0.1:{self.lamp_port}/lamp/v1", "--count", str(count), "--prefix", prefix,
            "--key-file", self.key_file, "--quiet", "--backoff-min", "100", "--backoff-jitter", "300", "--backoff-cap", "2000",
            *extra,
        ]
        log = open(os.path.join(self.directory, f"lampsim-{prefix}{len(self.simulators)}.out"), "w")
        self.logs.append(log)
        process = start(arguments, stdout=log, stderr=subprocess.STDOUT)
        self.simulators.append(process)
        return process

    # The API, as admin unless told otherwise.
    def request(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.admin_token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, (json.loads(text) if text else None)

    def get(self, path):
        status, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body}")
        return body

    def online(self):
        return self.get("/lamps?online=true&limit=1")["total"]

    def create_token(self, name, role):
        status, body = self.request("POST", "/tokens", {"name": name, "role": role})
        if status != 201:
            raise RuntimeError(f"creating token {name} answered {status}: {body}")
        return body["token"]

    def close(self):
        for process in self.simulators:
            stop(process, signal.SIGINT)
        if self.daemon:
            stop(self.daemon)
        for log in self.logs:
            log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def chromium(width=1600, height=1000):
    """A headless Chromium from Debian's packages driven by Debian's chromedriver: Selenium
    is told both paths, so it never downloads a browser or a driver of its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                     "--hide-scrollbars", "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                     "--disable-features=Translate,MediaRouter", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)
