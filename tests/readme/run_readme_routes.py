#!/usr/bin/env python3
"""Runs README.md's ways of use exactly as written: every code block marked
`<!-- readme-file: ROUTE FILE -->` is written to a fresh project directory for
ROUTE (with main.cpp = the README's library program, the <!-- readme-snippet -->
block), and every `<!-- readme-run: ROUTE checkout|project -->` block runs in
bash there (or in the checkout), in README order. The routes share a scratch
HOME (so `~/.local/cnai`, `~/cnai-env` land in it), CNAI_REPO is the checkout,
and each block run in the project must print the model's answer (Paris).

  tests/readme/run_readme_routes.py [--checkout DIR] [--scratch DIR] [ROUTE ...]
(scripts/ci_extra.sh runs it; the default scratch is <checkout>/build-readme,
under CCACHE_BASEDIR so the builds share compiled objects.)"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MARK = re.compile(r"<!-- readme-(run|file): (\S+) (\S+) -->\n```[a-z]*\n(.*?)\n```", re.S)


def readme_blocks(text):
    routes = {}
    for kind, route, arg, body in MARK.findall(text):
        routes.setdefault(route, []).append((kind, arg, body + "\n"))
    return routes


def library_program(text):
    at = text.index("<!-- readme-snippet -->")
    m = re.search(r"```cpp\n(.*?)\n```", text[at:], re.S)
    return m.group(1) + "\n"


def environment(checkout, home):
    env = dict(os.environ)
    ccache_dir = subprocess.run(["ccache", "-k", "cache_dir"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("ccache") else ""
    venv = Path(os.environ.get("CNAI_VENV", checkout / ".venv"))
    env.update(HOME=str(home), CNAI_REPO=str(checkout), CCACHE_BASEDIR=str(checkout), CC="cc", CXX="c++",
               CNAI_CACHE_DIR=os.environ.get("CNAI_CACHE_DIR", str(Path.home() / ".cache" / "cnai")),
               PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    if ccache_dir:
        env["CCACHE_DIR"] = ccache_dir  # the same cache as every other build, whatever HOME says
    env.pop("CONAN_HOME", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def run_route(route, blocks, checkout, scratch, env, program):
    project = scratch / route
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    (project / "main.cpp").write_text(program)
    for kind, arg, body in blocks:
        if kind == "file":
            (project / arg).write_text(body)
            continue
        cwd = checkout if arg == "checkout" else project
        print(f"--- {route} ({arg}):\n{body}", flush=True)
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = proc.stdout
        if proc.returncode != 0:
            print(output[-6000:])
            raise SystemExit(f"README route '{route}' failed (exit {proc.returncode})")
        print(output[-400:])
        if arg == "project" and "Paris" not in output:
            raise SystemExit(f"README route '{route}': the host did not print the answer (Paris)")
    print(f"README route '{route}': OK", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parents[2]
    ap.add_argument("--checkout", type=Path, default=root)
    ap.add_argument("--scratch", type=Path)
    ap.add_argument("routes", nargs="*")
    args = ap.parse_args()
    checkout = args.checkout.resolve()
    scratch = (args.scratch or checkout / "build-readme").resolve()
    text = (checkout / "README.md").read_text()
    routes = readme_blocks(text)
    if not routes:
        raise SystemExit("README.md has no readme-run blocks")
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = environment(checkout, home)
    program = library_program(text)
    for route in args.routes or list(routes):
        if route not in routes:
            raise SystemExit(f"README.md has no route '{route}' (has: {', '.join(routes)})")
        run_route(route, routes[route], checkout, scratch, env, program)
    print(f"{len(args.routes or routes)} passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
