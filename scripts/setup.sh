#!/usr/bin/env bash
# Idempotent set-up of a Stepwell checkout on a Debian machine:
#   virtualenv + package, a running Docker engine, debootstrap (offline base images), the base
#   images (python3.11, node20, python3.11-browser),
#   the web console (Node.js builds it, Chromium tests it), PostgreSQL for the tests.
# Run as root on a fresh machine it does everything; otherwise it says what you must do.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=.stepwell
VENV=.venv
mkdir -p "$STATE"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
apt_ready=0
apt_install() {
  if ! is_root || ! command -v apt-get >/dev/null; then
    die "missing $*: install it (Debian: 'sudo apt-get install -y $*') and run this again"
  fi
  if [ "$apt_ready" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_ready=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Python --------------------------------------------------------------------------------------
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PYTHON=$candidate; break
  fi
done
[ -n "$PYTHON" ] || die "Python 3.11 or newer is needed (Debian: apt-get install python3 python3-venv)"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed (Debian: apt-get install python3-venv)"
fi
# An editable install maps the top-level packages it saw: a new package needs a new install too.
stamp="$VENV/.installed-$( (cat pyproject.toml; ls -d -- */__init__.py) | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing stepwell and its development tools into $VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$stamp"
fi

# --- Docker engine -------------------------------------------------------------------------------
docker_answers() { "$VENV/bin/python" -c 'import docker; docker.from_env(timeout=5).ping()' 2>/dev/null; }
if ! docker_answers; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  is_root || die "no Docker engine answers and starting dockerd needs root: run 'sudo dockerd &' (or rootless Docker: dockerd-rootless-setuptool.sh install) and run this again"
  say "starting dockerd in the background (log: $STATE/dockerd.log)"
  nohup dockerd >"$STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
  docker_answers || die "dockerd did not come up in 60 s; see $STATE/dockerd.log"
fi
# The test suite checks docker-compose.yml with Debian's docker-compose (it runs nothing).
command -v docker-compose >/dev/null || apt_install docker-compose

# --- Base images ---------------------------------------------------------------------------------
# python3.11, node20 and python3.11-browser (stepwell/runtime-python3.11, stepwell/runtime-node20,
# stepwell/runtime-python3.11-browser). debootstrap is only used when python:3.11-slim or
# node:20-slim cannot be pulled (Debian bookworm with python3, trixie with nodejs 20); install it
# where we can. The browser image adds Debian's chromium to the python3.11 root filesystem with
# apt-get in a chroot (root, about two minutes the first time; cached under .stepwell/cache as
# rootfs-bookworm-chromium-*.tar, so later set-ups import it in seconds).
if ! command -v debootstrap >/dev/null && is_root && command -v apt-get >/dev/null; then
  apt_install debootstrap
fi
"$VENV/bin/stepwell" images build

# --- Container runtime (STEPWELL_SANDBOX_RUNTIME) --------------------------------------------------
# runc comes with every engine. For crun: install Debian's package and register it in the local
# engine's daemon.json under "runtimes", then make dockerd re-read that file with SIGHUP (a
# reloadable option): the engine is never restarted, so running containers are not disturbed.
# Then one hardened container is started under the runtime, as the worker does at start-up.
runtime="${STEPWELL_SANDBOX_RUNTIME:-runc}"
if [ "$runtime" != runc ]; then
  engine_runtimes() { "$VENV/bin/python" -c 'import docker; print("\n".join(docker.from_env(timeout=10).info()["Runtimes"]))'; }
  if ! engine_runtimes | grep -qx "$runtime"; then
    [ "$runtime" = crun ] || die "STEPWELL_SANDBOX_RUNTIME=$runtime is not registered with the Docker engine; register it in its daemon.json"
    [ -z "${DOCKER_HOST:-}" ] || die "register crun in the daemon.json of the engine at $DOCKER_HOST (\"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\"}}) and reload it"
    command -v crun >/dev/null || apt_install crun
    is_root || die "registering crun with dockerd needs root: run this again with sudo"
    config="${DOCKERD_CONFIG:-/etc/docker/daemon.json}"
    pid="$(cat "${DOCKERD_PIDFILE:-/var/run/docker.pid}" 2>/dev/null)" ||
      die "cannot find dockerd's pid to reload it: add crun to $config and reload dockerd (SIGHUP)"
    say "registering crun in $config and reloading dockerd (SIGHUP, no restart)"
    mkdir -p "$(dirname "$config")"
    "$VENV/bin/python" - "$config" "$(command -v crun)" <<'PY'
import json, os, sys
path, binary = sys.argv[1], sys.argv[2]
config = json.load(open(path)) if os.path.exists(path) else {}
config.setdefault("runtimes", {})["crun"] = {"path": binary}
partial = path + ".partial"
with open(partial, "w") as out:
    json.dump(config, out, indent=2)
    out.write("\n")
os.replace(partial, path)
PY
    kill -HUP "$pid"
    for _ in $(seq 1 20); do engine_runtimes | grep -qx crun && break; sleep 0.5; done
    engine_runtimes | grep -qx crun || die "dockerd did not pick up crun from $config (see its log)"
  fi
  "$VENV/bin/python" - <<'PY' || die "unset STEPWELL_SANDBOX_RUNTIME to use runc"
import sys
from docker import from_env
from sandbox.errors import SandboxError
from stepwell.worker import check_sandbox_runtime
from stepwell_settings import Settings
try:
    check_sandbox_runtime(from_env(), Settings())
except SandboxError as exc:
    sys.exit(f"error: {exc}")
PY
fi

# --- The web console -------------------------------------------------------------------------------
# Built from console/ with Debian's Node.js into ui_api/console/static (served at /), again only
# when its inputs changed. Its browser tests drive Debian's Chromium (Playwright, from the dev
# extra, is pointed at /usr/bin/chromium: no browser is ever downloaded).
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
[ -x /usr/bin/chromium ] || apt_install chromium
command -v chromedriver >/dev/null || apt_install chromium-driver
# The console's webhook tests run the curl line it shows (and sign with openssl), as a user would.
command -v curl >/dev/null || apt_install curl
command -v openssl >/dev/null || apt_install openssl
console_inputs() {
  cat console/package-lock.json console/build.mjs
  find console/package.json console/tsconfig.json console/.prettierrc.json console/src console/public -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum
}
console_stamp="$(console_inputs | sha256sum | cut -c1-64)"
if [ ! -f ui_api/console/static/index.html ] || [ ! -d console/node_modules ] ||
   [ "$(cat "$STATE/console-build.sha256" 2>/dev/null)" != "$console_stamp" ]; then
  say "building the web console (console/ -> ui_api/console/static)"
  (cd console && npm ci --ignore-scripts --no-audit --no-fund && npm run build) ||
    die "the console build failed (run 'make console' to see it again)"
  echo "$console_stamp" >"$STATE/console-build.sha256"
fi

# --- PostgreSQL for the test suite -----------------------------------------------------------------
# The API's database tests run on SQLite and on a real PostgreSQL server (Debian's package).
if [ -z "${STEPWELL_TEST_POSTGRES_URL:-}" ]; then
  scripts/postgres.sh >/dev/null
fi
say "ready"
