"""Fixtures shared by the whole test suite.

- ``browser_type_launch_args``: pytest-playwright launches the Chromium the project found
  (``robot.setup.chromium``), with the quiet flags.
- ``sandbox`` (session): one sandbox per test process (each xdist worker has its own), in a
  thread, on a free 127.0.0.1 port, data in a temporary folder, admin interface on.
- ``fresh_sandbox`` (function): the same sandbox reset to its seed, every fault knob off.
  A test that needs N rejections calls ``fresh_sandbox.reset(seed=N)``.

URLs are passed explicitly (``fresh_sandbox.url``): no global ``base_url``.

Every test that starts a browser, or the robot, is marked ``e2e`` at collection (see
:func:`e2e_reason`): ``make test-fast`` (``pytest -m "not e2e"``) runs the others.

The tests run longest first (:class:`LongestFirst`). ``--spread`` (``make test``) hands them
to xdist's workers one at a time, those of a file that share a fixture together
(:class:`Spread`): the workers finish together.
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath
from typing import Any

import pytest
from cli_support import CliResult, RobotCli
from playwright.sync_api import Playwright
from portal_support import suite_options
from xdist.scheduler import LoadScopeScheduling

from robot.browser.find import QUIET_FLAGS, find_chromium
from sandbox.server import RunningSandbox, start_sandbox

TESTS_DIR = Path(__file__).resolve().parent

#: pytest-playwright's fixtures that start Playwright's driver and, all but ``playwright``,
#: Chromium. Each of the plugin's browser fixtures depends on ``playwright``, so any fixture
#: built on them (``qa_page``, ``untraced_context``, a module's ``browser`` user…) brings
#: ``playwright`` into the test's fixture closure.
BROWSER_FIXTURES = frozenset(
    {"playwright", "browser_type", "launch_browser", "browser", "new_context", "context", "page"}
)
#: Child processes that run the robot or a browser: ``python -m NAME`` (or the command NAME):
#: the robot's command line, the benchmark (it runs the robot), the benchmark's browser
#: floor, and a nested pytest run (which sets up its target's session fixtures, browsers
#: included, even when the target then fails at setup).
LAUNCHING_COMMANDS = frozenset(
    {"robot.cli", "chorus-robot", "bench.run", "bench.browser_floor", "pytest"}
)
#: Calls that start Playwright in the test's own process (a name only used as a type, as in
#: ``cast(WorkSession, fake)``, starts nothing).
IN_PROCESS_STARTERS = frozenset(
    {"sync_playwright", "async_playwright", "start_playwright", "WorkSession"}
)
#: In the text of a script run as a child process (a ``.py`` file beside the tests, or a
#: ``python -c`` string): the robot's command line, or a call that starts Playwright.
SCRIPT_STARTERS = re.compile(
    r"\brobot\.cli\b|\b(?:sync_playwright|async_playwright|start_playwright|WorkSession)\s*\("
)
_PYTHON_CODE = re.compile(r"^\s*(?:from\s+[\w.]+\s+)?import\s", re.MULTILINE)


def e2e_reason(item: pytest.Item) -> str | None:
    """Why ``item`` starts a browser or the robot (it is then ``e2e``), or None.

    A test is e2e when:

    1. its fixture closure holds one of :data:`BROWSER_FIXTURES` (directly or through any
       fixture, e.g. ``qa_page``, ``real_trace``); or
    2. the code it runs — the test function, every fixture of its closure defined under
       tests/, and the functions and constants of tests/ these refer to, transitively —
       starts a browser or the robot:

       - a child process running one of :data:`LAUNCHING_COMMANDS` (``robot_cli``,
         ``audited_run``, ``_start_robot``, the benchmark's smoke tests…);
       - a script beside the tests, or a ``python -c`` string, whose code uses the robot's
         command line or starts Playwright (``_crashing_robot.py``, ``_session_memory.py``…);
       - Playwright started in-process (a call to one of :data:`IN_PROCESS_STARTERS`), or a
         browser fixture requested with ``request.getfixturevalue``.

    Code outside tests/ (the robot, the sandbox) is not read: the rule looks at what the
    tests start, not at what the libraries do.
    """
    names = item.fixturenames if isinstance(item, pytest.Function) else []
    for name in names:
        if name in BROWSER_FIXTURES:
            return f"uses the fixture {name!r}"
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    for name in names:
        for definition in definitions.get(name, ()):
            reason = _code_reason(definition.func)
            if reason:
                return f"fixture {name!r}: {reason}"
    test = getattr(item, "function", None)  # a method's plain function too
    return _code_reason(test) if inspect.isfunction(test) else None


@functools.cache
def _code_reason(root: Callable[..., Any]) -> str | None:
    """What in ``root``, or in the tests' functions it refers to, starts a browser or robot."""
    pending, seen = [inspect.unwrap(root)], set()
    while pending:
        func = pending.pop()
        if func in seen or not _under_tests(func):
            continue
        seen.add(func)
        tree = _syntax(func)
        if tree is None:
            continue
        folder = Path(inspect.getfile(func)).parent
        docstrings = set(_docstrings(tree))
        for node in ast.walk(tree):
            reason: str | None = None
            if isinstance(node, ast.Call):
                called = node.func
                name = getattr(called, "id", None) or getattr(called, "attr", None)
                if name in IN_PROCESS_STARTERS:
                    return f"{func.__name__} calls {name}"
                if _requested_fixture(node) in BROWSER_FIXTURES:
                    return f"{func.__name__} requests the fixture {_requested_fixture(node)!r}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docstrings:
                    reason = _string_reason(node.value, folder)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                value = func.__globals__.get(node.id)
                if isinstance(value, str | PurePath):
                    reason = _string_reason(str(value), folder)
                elif inspect.isfunction(value):
                    pending.append(inspect.unwrap(value))
            if reason:
                return f"{func.__name__} {reason}"
    return None


def _under_tests(func: Callable[..., Any]) -> bool:
    try:
        source = inspect.getsourcefile(func)
    except TypeError:
        return False
    return source is not None and Path(source).resolve().is_relative_to(TESTS_DIR)


def _syntax(func: Callable[..., Any]) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):  # no source, or a lambda inside an expression
        return None


def _docstrings(tree: ast.AST) -> Iterator[int]:
    """``id()`` of the docstrings' nodes: prose, never run."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                yield id(first.value)


def _requested_fixture(call: ast.Call) -> str | None:
    """NAME of a ``request.getfixturevalue("NAME")`` call."""
    func, args = call.func, call.args
    if not (isinstance(func, ast.Attribute) and func.attr == "getfixturevalue" and args):
        return None
    first = args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _string_reason(text: str, folder: Path) -> str | None:
    """What a string of the tests starts: a command, a script beside them, inline code."""
    if text in LAUNCHING_COMMANDS or text.rsplit("/", 1)[-1] in LAUNCHING_COMMANDS:
        return f"runs {text!r} in a child process"
    if text.endswith(".py"):
        script = folder / text  # an absolute path stays itself
        if script.is_file() and _script_starts(script.resolve()):
            return f"runs the script {script.name}"
    elif _PYTHON_CODE.search(text) and SCRIPT_STARTERS.search(text):
        return "runs inline code that starts Playwright or the robot"
    return None


@functools.cache
def _script_starts(script: Path) -> bool:
    return bool(SCRIPT_STARTERS.search(script.read_text(encoding="utf-8", errors="replace")))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: it must see the markers added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``e2e`` every test that starts a browser or the robot (:func:`e2e_reason`);
    :class:`LongestFirst` orders them after every other plugin."""
    for item in items:
        if item.get_closest_marker("e2e") is None:
            reason = e2e_reason(item)
            if reason is not None:
                item.add_marker(pytest.mark.e2e(reason=reason))


# -- the order of the tests, and how `make test` shares them between its workers ------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--spread",
        action="store_true",
        help="with -n: hand the workers one test at a time as they run short, in the order "
        "of tests/conftest.py's LongestFirst; the tests of a file that share a fixture go "
        "together, as with --dist loadfile",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LongestFirst(), "chorus-longest-first")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if not config.getoption("spread"):
        return None
    config.option.loadscopereorder = False  # keep LongestFirst's order
    return Spread(config, log)


class Spread(LoadScopeScheduling):
    """``--spread``: each test is a unit of work, but a file that shares a fixture
    (:func:`shares_a_fixture`) is one unit, as ``--dist loadfile`` makes every file.

    A unit goes to a worker that has two tests or fewer left, in the order the workers
    collected them (:class:`LongestFirst`): the longest tests are spread over both workers
    first, the many short ones fill in at the end, and both finish within seconds of each
    other. (``--dist loadgroup`` with an ``xdist_group`` mark per such file would do the
    same, but pytest-xdist 3.8 does not group under pytest 9.2: pytest-xdist issue 1386.)
    """

    def _split_scope(self, nodeid: str) -> str:
        file = nodeid.split("::", 1)[0]
        return file if shares_a_fixture(self.config.rootpath / file) else nodeid


class LongestFirst:
    """The longest tests first (:func:`cost_rank`): what is left at the end to even out the
    workers' finishing times is then the many short tests.

    Last of all the hooks: pytest's own reordering (tests grouped by the browser they are
    parametrized with) would otherwise undo the order. The tests of a file that share a
    fixture stay together, at the place of the first of them and the rank of the longest,
    so that the fixture is set up once (with ``--spread`` they go to one worker together).
    """

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        key = {item: (cost_rank(item, e2e_reason(item)), index) for index, item in enumerate(items)}
        files: dict[Path, list[pytest.Item]] = {}
        for item in items:
            if shares_a_fixture(item.path):
                files.setdefault(item.path, []).append(item)
        for tests in files.values():
            rank = min(key[item][0] for item in tests)
            first = key[tests[0]][1]
            key.update({item: (rank, first) for item in tests})
        items.sort(key=key.__getitem__)


#: :func:`cost_rank`'s ranks, the longest tests first: ``slow``; those that run the robot
#: (or a benchmark, a script that starts a browser…) in a child process, 5 to 60 s each; those
#: that drive a browser from the test's process, 1 to 5 s; the others, well under a second.
SLOW, CHILD_PROCESS, BROWSER, QUICK = range(4)


def cost_rank(item: pytest.Item, reason: str | None) -> int:
    """Where ``item`` goes in the order the workers take the tests (``reason``: its
    :func:`e2e_reason`)."""
    if item.get_closest_marker("slow"):
        return SLOW
    if reason is None:
        return BROWSER if item.get_closest_marker("e2e") else QUICK
    # The reasons of :func:`_string_reason` (a child process, a script, inline code) all
    # begin with "runs", after the name of the function that does it.
    return CHILD_PROCESS if " runs " in reason else BROWSER


@functools.cache
def shares_a_fixture(test_file: Path) -> bool:
    """Whether tests of ``test_file`` may share a fixture that a worker sets up for the first
    of them it runs: one of the file's own broader than a test (a module's run of the robot,
    a mail server), or one of a conftest.py of its folders below this one (the journal's
    PostgreSQL). Read from the source, as the controller of xdist's workers, which collects
    no test, can. This file's session fixtures (the sandbox) and the plugins' (the browser)
    are set up once per worker, whatever it runs."""
    test_file = test_file.resolve()
    if _broad_fixture_scopes(test_file):
        return True
    folder = test_file.parent
    while folder != TESTS_DIR and folder.is_relative_to(TESTS_DIR):
        if _broad_fixture_scopes(folder / "conftest.py"):
            return True
        folder = folder.parent
    return False


@functools.cache
def _broad_fixture_scopes(path: Path) -> frozenset[str]:
    """The scopes other than ``function`` given to a ``@pytest.fixture`` in ``path``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    scopes = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            called = decorator.func
            if (getattr(called, "attr", None) or getattr(called, "id", None)) != "fixture":
                continue
            for keyword in decorator.keywords:
                if keyword.arg == "scope" and isinstance(keyword.value, ast.Constant):
                    scopes.add(str(keyword.value.value))
    return frozenset(scopes - {"function"})


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], pytestconfig: pytest.Config, playwright: Playwright
) -> dict[str, Any]:
    args = dict(browser_type_launch_args)
    executable = find_chromium(playwright, headless=not pytestconfig.getoption("--headed"))
    if executable is not None:
        args["executable_path"] = executable
    args["args"] = [*args.get("args", []), *QUIET_FLAGS]
    return args


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    options = suite_options(tmp_path_factory.mktemp("sandbox-data"))
    with start_sandbox(options, mode="thread") as running:
        yield running


@pytest.fixture
def fresh_sandbox(sandbox: RunningSandbox) -> RunningSandbox:
    sandbox.set_faults()
    sandbox.reset()
    return sandbox


@pytest.fixture
def robot_env(
    fresh_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Environment of a robot pointed at the test sandbox, outputs in ``tmp_path/runs``."""
    for name in list(os.environ):
        if name.startswith("CHORUS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    yield {
        "CHORUS_PORTAL_URL": fresh_sandbox.url,
        "CHORUS_LOGIN": fresh_sandbox.options.user,
        "CHORUS_PASSWORD": fresh_sandbox.options.password,
        "CHORUS_OTP_SOURCE": f"maildir:{fresh_sandbox.maildir}",
        "CHORUS_OUTPUT_DIR": str(tmp_path / "runs"),
        "CHORUS_TIMEOUT_MS": "10000",
        # The test sandbox is not the real portal: no politeness delay between pages.
        "CHORUS_MAX_REQUESTS_PER_MIN": "0",
        # Fault tests retry against a local sandbox: no need to wait half a second first.
        "CHORUS_RETRY_BASE_MS": "50",
    }


@pytest.fixture
def robot_cli(robot_env: dict[str, str], tmp_path: Path) -> RobotCli:
    """Run ``chorus-robot ARGS`` as a user would: its own process, ``robot_env`` (plus
    overrides) as environment, from ``tmp_path``. (A separate process also keeps the robot's
    Playwright apart from pytest-playwright's event loop.)"""

    def invoke(*args: str, **env: str) -> CliResult:
        merged = {**os.environ, **robot_env, **env}
        completed = subprocess.run(
            [sys.executable, "-m", "robot.cli", *args],
            env=merged,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        out_dir = Path(merged["CHORUS_OUTPUT_DIR"])
        out_dir.mkdir(parents=True, exist_ok=True)
        return CliResult(completed.returncode, completed.stdout + completed.stderr, out_dir)

    return invoke
