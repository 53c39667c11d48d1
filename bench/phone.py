"""python -m bench.phone: the phone pages in Debian's chromium on slow 3G, first and repeat visit.

    python -m bench.phone                  # bench/data/bench.sqlite, or BENCH_DATABASE_URL
    python -m bench.phone --quick          # one round instead of three
    python -m bench.phone --scale 0.02     # a small generated dataset, to try the bench itself

gunicorn serves the bench database on 127.0.0.1. Chromium (headless, 360×740) opens the
sign-in page, the volunteer's home page and session form, and the commune dashboard of the
largest commune, each in a fresh browser context whose cookies come from signing in outside
the browser, so the first visit starts with an empty cache. The DevTools protocol throttles
the network to a slow 3G profile (400 kbit/s each way, 400 ms round trip) and the CPU 4×, as
on a cheap phone; the same page is then loaded again in the same context (repeat visit).

The app's service worker fetches on its own (its shell of static files when it installs, the
home page, the form and the offline pack to keep them for no signal, and the page itself on
a repeat visit when it answers for it). Its requests are invisible to the page's DevTools
session, so the bench attaches to every service worker too, throttles it the same way and
counts what its network carried on a line of its own: bytes on the wire are the page's and
the worker's, never a copy from a cache. The floor is the same profile loading a tiny static
file of the same server: what one round trip costs, below which no page can load.
"""

import argparse
import contextlib
import itertools
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from app.auth.services import create_user
from app.extensions import db
from app.models import Commune, Team, User, VillageTally
from bench import generate, report
from bench.load import Client, Server

CHROMIUM = "/usr/bin/chromium"
# Without these, chromium tries to reach Google's hosts at start and on every page.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 360, "height": 740}
KBIT = 1000 / 8  # bytes per second in one kbit/s
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400 * KBIT, "uploadThroughput": 400 * KBIT}
CPU_SLOWDOWN = 4  # a cheap Android phone against this machine's core
WORKERS = 2
ROUNDS, QUICK_ROUNDS = 3, 1
QUIET_S = 2.0  # the network counts as idle after this long without a request in flight
BACKGROUND_MAX_S = 120.0  # the most the service worker's own fetches are waited for
FLOOR_PATH = "/static/icons/icon-192.png"
VOLUNTEER_PHONE = "0399990061"  # 03…: never the dataset's own people (08…, 09…)
OFFICER_PHONE = "0399990062"
SESSION_FORM_MAX_BYTES = 60 * 1024
SESSION_FORM_MAX_LOAD_S = 3.0
KINDS = ("html", "css", "js", "img", "other")
NETWORK_EVENTS = ("Network.requestWillBeSent", "Network.requestServedFromCache", "Network.responseReceived",
                  "Network.dataReceived", "Network.loadingFinished", "Network.loadingFailed")  # fmt: skip


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: str
    who: str | None  # None: signed out


# ---------------------------------------------------------------------------------------------
# What the network carried


@dataclass
class Exchange:
    """One request as DevTools saw it: bytes on the wire (headers and body as sent, compressed
    or not) and the decoded body (uncompressed), and where the answer came from."""

    url: str
    mime: str = ""
    status: int = 0
    source: str = "network"  # network, cache (the browser's), worker (the service worker answered)
    wire: int = 0
    decoded: int = 0
    read: bool = False  # whether DevTools saw the body; a worker storing it unread shows none
    length: int | None = None  # Content-Length, for a body stored unread and sent uncompressed
    encoding: str = ""
    done: bool = False

    @property
    def uncompressed(self) -> int | None:
        """The decoded body's size, or None when the worker stored a compressed body unread."""
        if self.read or self.status in (204, 304):
            return self.decoded
        if not self.encoding and self.length is not None:
            return self.length
        return None


def kind_of(mime: str) -> str:
    if mime == "text/html":
        return "html"
    if mime == "text/css":
        return "css"
    if "javascript" in mime:
        return "js"
    if mime.startswith("image/"):
        return "img"
    return "other"


@dataclass
class Traffic:
    """The Network events of one target (the page, or every service worker)."""

    exchanges: dict[str, Exchange] = field(default_factory=dict)
    last_event_at: float = 0.0

    def handle(self, method: str, params: dict) -> None:
        self.last_event_at = time.monotonic()
        key = params.get("requestId")
        if method == "Network.requestWillBeSent":
            if params["request"]["url"].startswith("data:"):
                return  # inside a stylesheet already: never on the wire
            if "redirectResponse" in params and key in self.exchanges:
                hop = self.exchanges.pop(key)
                hop.wire, hop.status, hop.done = params["redirectResponse"]["encodedDataLength"], 302, True
                self.exchanges[f"{key}>{len(self.exchanges)}"] = hop
            self.exchanges[key] = Exchange(params["request"]["url"])
            return
        exchange = self.exchanges.get(key)
        if exchange is None:
            return
        if method == "Network.requestServedFromCache":
            exchange.source = "cache"
        elif method == "Network.responseReceived":
            response = params["response"]
            exchange.mime, exchange.status = response.get("mimeType", ""), response["status"]
            headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
            exchange.encoding = headers.get("content-encoding", "")
            exchange.length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
            if response.get("fromServiceWorker"):
                exchange.source = "worker"
            elif response.get("fromDiskCache") or response.get("fromPrefetchCache"):
                exchange.source = "cache"
        elif method == "Network.dataReceived":
            exchange.decoded += params["dataLength"]
            exchange.read = True
        elif method == "Network.loadingFinished":
            exchange.wire, exchange.done = params["encodedDataLength"], True
        elif method == "Network.loadingFailed":
            exchange.done = True

    def clear(self) -> None:
        self.exchanges.clear()

    def in_flight(self) -> int:
        return sum(not exchange.done for exchange in self.exchanges.values())

    def figures(self) -> dict:
        """Requests that went to the network, their bytes on the wire and uncompressed by kind;
        how many were answered on the phone (browser cache or service worker); and the weight:
        every file the page is made of, uncompressed, wherever it came from."""
        network = [exchange for exchange in self.exchanges.values() if exchange.source == "network"]
        decoded = {kind: 0 for kind in KINDS}
        for exchange in network:
            decoded[kind_of(exchange.mime)] += exchange.uncompressed or 0
        return {
            "requests": len(network),
            "wire": sum(exchange.wire for exchange in network),
            "uncompressed": sum(decoded.values()),
            "uncompressed_by_kind": decoded,
            "uncompressed_unknown": sum(exchange.uncompressed is None for exchange in network),
            "answered_on_phone": len(self.exchanges) - len(network),
            "weight": sum(exchange.uncompressed or 0 for exchange in self.exchanges.values()),
        }

    def fill_in_from(self, other: "Traffic") -> None:
        """The uncompressed size of a body passed on unread (a page the service worker answers
        from the network) is the one the page read."""
        read = {exchange.url: exchange.decoded for exchange in other.exchanges.values() if exchange.read}
        for exchange in self.exchanges.values():
            if exchange.uncompressed is None and exchange.url in read:
                exchange.decoded, exchange.read = read[exchange.url], True

    def keep_only(self, path: str) -> None:
        self.exchanges = {key: item for key, item in self.exchanges.items() if item.url.endswith(path)}

    def resources(self) -> list[dict]:
        return [
            {
                "url": exchange.url.split("/", 3)[-1],
                "status": exchange.status,
                "mime": exchange.mime,
                "source": exchange.source,
                "wire": exchange.wire,
                "uncompressed": exchange.uncompressed,
            }
            for exchange in self.exchanges.values()
        ]


@dataclass
class WorkerTraffic:
    """The service workers' own requests (the worker's script, its shell when it installs, the
    pages it keeps, the network behind the pages it answers), as Playwright reports them: it
    holds every new worker until it is watching, so not even the first fetch is missed."""

    pending: set = field(default_factory=set)
    finished: list[Request] = field(default_factory=list)
    last_event_at: float = 0.0

    def watch(self, context: BrowserContext) -> None:
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        if request.service_worker:
            self.pending.add(request)
            self.last_event_at = time.monotonic()

    def _ended(self, request: Request) -> None:
        if request.service_worker:
            self.pending.discard(request)
            self.finished.append(request)
            self.last_event_at = time.monotonic()

    def clear(self) -> None:
        self.pending.clear()
        self.finished.clear()

    def in_flight(self) -> int:
        return len(self.pending)

    def as_traffic(self) -> Traffic:
        return Traffic({str(number): _exchange(request) for number, request in enumerate(self.finished)})


def _exchange(request: Request) -> Exchange:
    """A worker's request as an Exchange. A body size below zero is an answer from the browser's
    cache (nothing came but the headers DevTools counts anyway)."""
    response = request.response()
    exchange = Exchange(request.url, done=True)
    if response is None:
        return exchange  # failed: nothing came back
    sizes = request.sizes()
    headers = response.headers
    exchange.status, exchange.mime = response.status, headers.get("content-type", "").split(";")[0]
    exchange.encoding = headers.get("content-encoding", "")
    exchange.length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
    if sizes["responseBodySize"] < 0:
        exchange.source = "cache"
    else:
        exchange.wire = sizes["responseHeadersSize"] + sizes["responseBodySize"]
    body = b""
    with contextlib.suppress(PlaywrightError):
        body = response.body()
    # A body the worker stored unread (its shell) or handed on (a page it answers) is not kept:
    # an empty body for bytes that came is "unknown", unless the headers tell the size.
    if body or sizes["responseBodySize"] <= 0:
        exchange.decoded, exchange.read = len(body), True
    return exchange


ATTACHING = "attaching"


class WorkerThrottle:
    """Every service worker throttled like the page. Playwright has no DevTools session for
    workers to hand out, so this attaches through the browser's own session (unflattened: the
    worker's answers come back wrapped in events). A worker is throttled as soon as it is seen,
    which may be just after its first fetches began; the page's own load does not wait on
    those (DevTools gives each target a line of its own), and they are counted all the same.
    The CPU slowdown is the page's alone."""

    def __init__(self, browser: Browser):
        self.sessions: dict[str, str] = {}  # target id: our session id
        self._ids = itertools.count(1)
        self.session = browser.new_browser_cdp_session()
        self.session.on("Target.targetCreated", self._created)
        self.session.on("Target.targetInfoChanged", self._created)
        self.session.on("Target.targetDestroyed", lambda params: self.sessions.pop(params["targetId"], None))
        self.session.send("Target.setDiscoverTargets", {"discover": True})

    def _created(self, params: dict) -> None:
        target = params["targetInfo"]
        if target["type"] != "service_worker" or target["targetId"] in self.sessions:
            return
        self.sessions[target["targetId"]] = ATTACHING
        with contextlib.suppress(PlaywrightError):  # gone already, with its context
            attached = self.session.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": False})
            self.sessions[target["targetId"]] = attached["sessionId"]
            self.throttle()

    def throttle(self) -> None:
        """Sent again before each visit: conditions sent while a worker is still starting do
        not always hold (seen with Chromium 156)."""
        for session_id in self.sessions.values():
            if session_id == ATTACHING:
                continue
            message = json.dumps(
                {"id": next(self._ids), "method": "Network.emulateNetworkConditions", "params": SLOW_3G}
            )
            with contextlib.suppress(PlaywrightError):  # the worker is gone with its context
                self.session.send("Target.sendMessageToTarget", {"sessionId": session_id, "message": message})

    def detach(self) -> None:
        self.session.detach()


# ---------------------------------------------------------------------------------------------
# One page in a phone's browser


@dataclass
class Visit:
    load_ms: float
    dom_ms: float
    page: dict
    worker: dict
    resources: list[dict]


@dataclass
class Tab:
    """A page of a fresh browser context, throttled, with the traffic of the page and of the
    context's service workers."""

    page: Page
    traffic: Traffic
    workers: WorkerTraffic


def open_tab(context: BrowserContext) -> Tab:
    workers = WorkerTraffic()
    workers.watch(context)
    page = context.new_page()
    session = context.new_cdp_session(page)
    traffic = Traffic()
    for event in NETWORK_EVENTS:
        session.on(event, partial(traffic.handle, event))
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", SLOW_3G)
    session.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    return Tab(page, traffic, workers)


def visit(tab: Tab, throttle: WorkerThrottle, path: str, problems: list[str], only_path: bool = False) -> Visit:
    """Load `path` and wait until neither the page nor a service worker has anything in flight.
    `only_path` counts the file at `path` alone (not the favicon a browser asks for beside it)."""
    tab.traffic.clear()
    tab.workers.clear()
    throttle.throttle()
    response = tab.page.goto(path, wait_until="load")
    signed_out = tab.page.url.split("?")[0].endswith("/login")
    if response is None or response.status != 200 or signed_out != (path == "/login"):
        problems.append(f"GET {path} answered {response and response.status} at {tab.page.url}")
    tab.page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
    dom_ms, load_ms = tab.page.evaluate(
        "(({domContentLoadedEventEnd, loadEventEnd}) => [domContentLoadedEventEnd, loadEventEnd])"
        "(performance.getEntriesByType('navigation')[0])"
    )
    if not wait_until_quiet(tab.page, (tab.traffic, tab.workers)):
        problems.append(f"GET {path}: still fetching {BACKGROUND_MAX_S:g} s after the load event")
    if only_path:
        tab.traffic.keep_only(path)
    workers = tab.workers.as_traffic()
    workers.fill_in_from(tab.traffic)
    return Visit(
        load_ms=load_ms,
        dom_ms=dom_ms,
        page=tab.traffic.figures(),
        worker=workers.figures(),
        resources=tab.traffic.resources() + [{**item, "by": "service worker"} for item in workers.resources()],
    )


def wait_until_quiet(page: Page, traffics: tuple) -> bool:
    """Until QUIET_S passes with nothing in flight and no new event (the favicon, the worker
    installing and keeping pages for later): True, or False after BACKGROUND_MAX_S."""
    deadline = time.monotonic() + BACKGROUND_MAX_S
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)  # lets Playwright deliver the events meanwhile
        last = max(traffic.last_event_at for traffic in traffics)
        if not any(traffic.in_flight() for traffic in traffics) and time.monotonic() - last >= QUIET_S:
            return True
    return False


def measure(browser: Browser, throttle: WorkerThrottle, base: str, spec: PageSpec, cookies: dict, problems) -> dict:
    """First visit (fresh context: empty cache, no service worker) and repeat visit."""
    context = browser.new_context(viewport=PHONE, base_url=base, locale="vi-VN")
    try:
        if cookies:
            context.add_cookies([{"name": name, "value": value, "url": base} for name, value in cookies.items()])
        tab = open_tab(context)
        return {name: visit(tab, throttle, spec.path, problems) for name in ("first", "repeat")}
    finally:
        context.close()


def floor(browser: Browser, throttle: WorkerThrottle, base: str, problems: list[str]) -> Visit:
    context = browser.new_context(viewport=PHONE, base_url=base)
    try:
        return visit(open_tab(context), throttle, FLOOR_PATH, problems, only_path=True)
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
# The bench


def bench_users(app: Flask) -> dict:
    """A volunteer (in a team, so the home page and the form show its villages) and an officer
    of the commune with the most households, each with a fresh random password."""
    with app.app_context():
        upgrade()  # a database made before the latest migration still needs its new tables
        commune_id = db.session.execute(
            sa.select(VillageTally.commune_id)
            .group_by(VillageTally.commune_id)
            .order_by(sa.func.sum(VillageTally.registered).desc(), VillageTally.commune_id)
            .limit(1)
        ).scalar_one()
        commune = db.session.get(Commune, commune_id)
        team = db.session.scalar(sa.select(Team).where(Team.commune_id == commune_id).order_by(Team.id).limit(1))
        passwords = {}
        for phone, role, name in ((VOLUNTEER_PHONE, "volunteer", "Tình nguyện viên (bench)"),
                                  (OFFICER_PHONE, "officer", "Cán bộ xã (bench)")):  # fmt: skip
            passwords[phone] = password = secrets.token_urlsafe(12)
            user = db.session.scalar(sa.select(User).where(User.phone == phone))
            if user is None:
                user = create_user(phone=phone, full_name=name, role=role, password=password, commune_code=commune.code)
            else:
                user.set_password(password)
                user.commune_id, user.is_active = commune.id, True
            user.team_id = team.id if role == "volunteer" and team else None
        db.session.commit()
        found = {"code": commune.code, "name": commune.name, "passwords": passwords}
        db.session.remove()
        db.engine.dispose()
    return found


def run(url: str, *, quick: bool = False) -> report.Part:
    """Every page's first and repeat visit, ROUNDS times (once when quick), and the floor."""
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    started = time.perf_counter()
    part = report.Part("phone: pages on slow 3G in chromium")
    if not Path(CHROMIUM).exists():
        part.problems.append(f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium)")
        return part
    commune = bench_users(generate.bench_app(url))
    specs = (
        PageSpec("sign-in", "/login", None),
        PageSpec("home", "/", VOLUNTEER_PHONE),
        PageSpec("session form", "/sessions/new", VOLUNTEER_PHONE),
        PageSpec("commune dashboard", f"/progress/communes/{commune['code']}", OFFICER_PHONE),
    )
    rounds = QUICK_ROUNDS if quick else ROUNDS
    samples: dict[tuple[str, str], list[Visit]] = {}
    with tempfile.TemporaryDirectory(prefix="kns-phone-") as logs:
        server = Server(url, WORKERS, Path(logs) / "gunicorn.log")
        with server, sync_playwright() as playwright:
            base = f"http://127.0.0.1:{server.port}"
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            throttle = WorkerThrottle(browser)
            try:
                for number in range(rounds):
                    samples.setdefault(("floor", "first"), []).append(floor(browser, throttle, base, part.problems))
                    for spec in specs:
                        cookies = _sign_in(server.port, spec.who, commune["passwords"]) if spec.who else {}
                        for name, seen in measure(browser, throttle, base, spec, cookies, part.problems).items():
                            samples.setdefault((spec.name, name), []).append(seen)
                    print(f"  phone: round {number + 1}/{rounds} done", flush=True)
            finally:
                throttle.detach()
                browser.close()
        if "Traceback" in server.log():
            part.problems.append("the server logged a traceback: " + server.log().split("Traceback", 1)[1][:500])

    part.figures = _figures(samples, commune, rounds, time.perf_counter() - started)
    part.table = _table(part.figures)
    form = part.figures["pages"]["session form"]["first"]
    part.budgets = [
        report.Budget("session form, first visit: all files, uncompressed", form["page"]["weight"],
                      SESSION_FORM_MAX_BYTES, unit="B"),
        report.Budget("session form, first visit: load on slow 3G", form["load_ms"] / 1000,
                      SESSION_FORM_MAX_LOAD_S, unit="s"),
    ]  # fmt: skip
    return part


def _sign_in(port: int, phone: str, passwords: dict) -> dict:
    """Cookies of a fresh sign-in, made without the browser (and without throttling)."""
    client = Client(port)
    try:
        client.sign_in(phone, passwords[phone])
    finally:
        client.close()
    return dict(client.cookies)


def _median_figures(visits: list[Visit]) -> dict:
    """Each figure's median over the rounds (bytes barely move; times do)."""

    def median(values):
        return round(statistics.median(values), 1)

    def merged(figures: list[dict]) -> dict:
        values = {key: [item[key] for item in figures] for key in figures[0]}
        return {key: merged(items) if isinstance(items[0], dict) else median(items) for key, items in values.items()}

    return {
        "load_ms": median([seen.load_ms for seen in visits]),
        "dom_content_loaded_ms": median([seen.dom_ms for seen in visits]),
        "load_ms_samples": [round(seen.load_ms) for seen in visits],
        "page": merged([seen.page for seen in visits]),
        "service_worker": merged([seen.worker for seen in visits]),
        "resources": visits[0].resources,
    }


def _figures(samples: dict, commune: dict, rounds: int, seconds: float) -> dict:
    pages: dict[str, dict] = {}
    for (page, visit_name), visits in samples.items():
        pages.setdefault(page, {})[visit_name] = _median_figures(visits)
    return {
        "profile": {
            "latency_ms": SLOW_3G["latency"],
            "down_kbit_s": SLOW_3G["downloadThroughput"] / KBIT,
            "up_kbit_s": SLOW_3G["uploadThroughput"] / KBIT,
            "cpu_slowdown": CPU_SLOWDOWN,
            "viewport": PHONE,
            "browser": CHROMIUM,
        },
        "commune": {"code": commune["code"], "name": commune["name"]},
        "rounds": rounds,
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "floor": pages.pop("floor")["first"],
        "pages": pages,
        "bench_seconds": round(seconds, 1),
    }


def _table(figures: dict) -> list[str]:
    """One line per page and visit, and one under it for the service worker's own fetches.
    req/wire: what went over the network; unzip and its split: the same bodies uncompressed;
    phone: requests answered on the phone (cache, service worker); weight: every file the page
    is made of, uncompressed, wherever it came from."""
    profile = figures["profile"]
    lines = [
        f"  slow 3G: {profile['down_kbit_s']:g} kbit/s each way, {profile['latency_ms']} ms round trip, CPU "
        f"{profile['cpu_slowdown']}× slower, {PHONE['width']}×{PHONE['height']}; medians of {figures['rounds']} "
        f"round(s); KB = 1024 B",
        f"  {'':30}{'req':>4}{'wire':>8}{'unzip':>9}{'html':>6}{'css':>6}{'js':>6}{'img':>6}{'other':>7}"
        f"{'phone':>6}{'weight':>7}{'DCL s':>7}{'load s':>7}",
    ]
    unread = False

    def kb(value: float) -> str:
        return f"{value / 1024:.1f}"

    def row(label: str, traffic: dict, seen: dict | None = None) -> str:
        nonlocal unread
        kinds = traffic["uncompressed_by_kind"]
        mark = "*" if traffic["uncompressed_unknown"] else ""
        unread = unread or bool(mark)
        line = (
            f"  {label:30}{traffic['requests']:>4.0f}{kb(traffic['wire']):>8}{kb(traffic['uncompressed']) + mark:>9}"
            + "".join(f"{kb(kinds[kind]):>{7 if kind == 'other' else 6}}" for kind in KINDS)
            + f"{traffic['answered_on_phone']:>6.0f}"
        )
        if seen:
            line += (
                f"{kb(traffic['weight']):>7}{seen['dom_content_loaded_ms'] / 1000:>7.2f}{seen['load_ms'] / 1000:>7.2f}"
            )
        return line

    for page, visits in figures["pages"].items():
        for name, seen in visits.items():
            lines.append(row(f"{page}, {name}", seen["page"], seen))
            if seen["service_worker"]["requests"] or seen["service_worker"]["answered_on_phone"]:
                lines.append(row("  + service worker's own", seen["service_worker"]))
    lines.append(row(f"floor: {FLOOR_PATH.rsplit('/', 1)[-1]}", figures["floor"]["page"], figures["floor"]))
    if unread:
        lines.append("  * without the files the worker stored unread and compressed (their size is on the wire only)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.phone", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size against the province (default 1)")
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    parser.add_argument("--json", type=Path, help="also write every figure (and each file loaded) here")
    args = parser.parse_args(argv)
    url = generate.database_url(args.scale)
    if args.scale != 1:
        generate.ensure(url, generate.Size.at(args.scale))
    elif url.startswith("sqlite:") and not Path(sa.engine.make_url(url).database).exists():
        print("No province-scale database: build it with `python -m bench --generate-only`, or try --scale 0.02.")
        return 1
    part = run(url, quick=args.quick)
    part.print()
    if args.json:
        args.json.write_text(json.dumps(part.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0 if part.passed else 1


if __name__ == "__main__":
    sys.exit(main())
