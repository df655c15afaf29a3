"""Every check, by name: `nox -s lint types unit integration e2e` (make test runs them all).

`nox -s bench` (make bench) measures speed; it is never part of the checks.

Sessions run in the project's own .venv (`nox --no-venv`, as the Makefile calls them), which
`make` installs from requirements.lock.
"""

from __future__ import annotations

import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "types", "tests"]


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.run(sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run(sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "noxfile.py")


@nox.session(venv_backend="none")
def types(session: nox.Session) -> None:
    """mypy, strict on the domain and the services."""
    session.run(sys.executable, "-m", "mypy")


@nox.session(venv_backend="none")
def unit(session: nox.Session) -> None:
    """The domain and the services against in-memory fakes."""
    session.run(sys.executable, "-m", "pytest", "tests/unit", *session.posargs)


@nox.session(venv_backend="none")
def integration(session: nox.Session) -> None:
    """SQL adapters and the API on real PostgreSQL and SQLite; adapters against emulators."""
    session.run(sys.executable, "-m", "pytest", "tests/integration", *session.posargs)


@nox.session(venv_backend="none")
def e2e(session: nox.Session) -> None:
    """Pages in a real Chromium."""
    session.run(sys.executable, "-m", "pytest", "tests/e2e", *session.posargs)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole suite in one pytest run: unit, integration, browser."""
    session.run(sys.executable, "-m", "pytest", *session.posargs)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Seed PostgreSQL, serve, load every hot route; benchmarks/results/latest.json."""
    session.run(sys.executable, "benchmarks/run.py", *session.posargs)
