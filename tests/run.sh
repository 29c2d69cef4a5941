#!/usr/bin/env bash
# The test command of the project: `bash tests/run.sh [pytest arguments]`.
#
# Prepares what a fresh machine lacks (the virtualenv, PostgreSQL, Redis), then
# runs the suite twice, against PostgreSQL and against SQLite, and ends with one
# line `N passed, M failed` summing both runs. Exits non-zero if either run fails.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python

say() { printf '==> %s\n' "$*"; }

wait_for() {  # wait_for <what> <seconds> <command...>
    local what=$1 seconds=$2
    shift 2
    local i
    for ((i = 0; i < seconds * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "tests/run.sh: $what did not answer within ${seconds}s" >&2
    return 1
}

# 1. The virtualenv, with the project and its test extras; installed again
# whenever pyproject.toml changed since the last install.
if [[ ! -x $PY ]]; then
    say "creating .venv"
    python3 -m venv "$VENV" || exit 1
fi
stamp=$VENV/.cfp-installed
wanted=$(cksum < pyproject.toml)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]] \
    || ! "$PY" -c 'import cfp, pytest' >/dev/null 2>&1; then
    say "installing the project into .venv"
    pip_log=$(mktemp)
    if ! "$PY" -m pip install --quiet --disable-pip-version-check -e '.[test]' \
        </dev/null >"$pip_log" 2>&1; then
        cat "$pip_log" >&2
        rm -f "$pip_log"
        exit 1
    fi
    rm -f "$pip_log"
    printf '%s\n' "$wanted" > "$stamp"
fi

# 2. Debian packages the tests read PDFs with (poppler's pdffonts, pdftotext), the
# TrueType font with Chinese glyphs that PDFs embed, and the Chromium the browser
# journeys drive (tests/browser); installed only when missing.
need=()
command -v pdffonts >/dev/null 2>&1 || need+=(poppler-utils)
[[ -x /usr/bin/chromium ]] || need+=(chromium)
[[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]] || need+=(fonts-wqy-zenhei)
if ((${#need[@]})); then
    say "installing ${need[*]}"
    apt_log=$(mktemp)
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"; } \
        </dev/null >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        exit 1
    fi
    rm -f "$apt_log"
fi

# axe-core, which the browser journeys inject into every page they visit (from the npm
# registry, into .cache/npm; installed only when missing).
if [[ ! -f $ROOT/.cache/npm/node_modules/axe-core/axe.min.js ]]; then
    say "installing axe-core"
    mkdir -p "$ROOT/.cache/npm"
    if ! npm install --no-save --no-audit --no-fund --prefix "$ROOT/.cache/npm" axe-core@4 \
        </dev/null >/dev/null 2>&1; then
        echo "tests/run.sh: npm could not install axe-core" >&2
        exit 1
    fi
fi

# 3. PostgreSQL and Redis, started only when they do not answer.
if ! pg_isready -q -h 127.0.0.1; then
    say "starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || exit 1
    wait_for PostgreSQL 30 pg_isready -q -h 127.0.0.1 || exit 1
fi
redis_up() { [[ $(redis-cli -h 127.0.0.1 ping 2>/dev/null) == PONG ]]; }
if ! redis_up; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || exit 1
    wait_for Redis 30 redis_up || exit 1
fi

# 4. The suite, once per database, the two runs side by side (most of a test is one
# Python process waiting on itself, so two runs use the machine's cores: on this 2-core
# machine the two side by side take about the time of the longer one alone). Each run has
# Redis databases of its own (a worker of one must never take the other's tasks); its
# PostgreSQL databases, ports and instance folders are its own already (named by process,
# picked free, temporary). The PostgreSQL run prints as it goes; the SQLite run's output
# follows once both have ended. Both runs happen even if one fails.
#
# Three kinds of tests run in the PostgreSQL run only: `production` (the production recipe,
# which is PostgreSQL by definition), `multihost` (tests/workers/test_multihost.py:
# several hosts cannot share one SQLite file) and `once` (long checks whose outcome does not
# depend on the database); the SQLite run deselects them.
reports=$(mktemp -d "${TMPDIR:-/tmp}/cfp-tests.XXXXXX")
trap 'rm -rf "$reports"' EXIT
say "pytest against postgresql and sqlite, side by side (sqlite's output follows)"
CFP_TEST_DB=sqlite \
    CFP_TEST_REDIS_URL=${CFP_TEST_SQLITE_REDIS_URL:-redis://127.0.0.1:6379/11} \
    CFP_TEST_WORKER_REDIS_URL=${CFP_TEST_SQLITE_WORKER_REDIS_URL:-redis://127.0.0.1:6379/10} \
    CFP_TEST_BROWSER_REDIS_URL=${CFP_TEST_SQLITE_BROWSER_REDIS_URL:-redis://127.0.0.1:6379/9} \
    "$PY" -m pytest --junitxml="$reports/sqlite.xml" -m "not production and not multihost and not once" \
    "$@" </dev/null >"$reports/sqlite.log" 2>&1 &
sqlite_pid=$!
trap 'kill "$sqlite_pid" 2>/dev/null; rm -rf "$reports"' EXIT
CFP_TEST_DB=postgresql "$PY" -m pytest --junitxml="$reports/postgresql.xml" "$@" </dev/null
pg_status=$?
wait "$sqlite_pid"
sqlite_status=$?
say "pytest against sqlite"
cat "$reports/sqlite.log"
status=0
((pg_status == 0 && sqlite_status == 0)) || status=1

# 5. One line for both runs. A run that wrote no report (pytest could not even
# start) counts as one failure, so the line never hides a broken run.
"$PY" - "$reports/postgresql.xml" "$reports/sqlite.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET

passed = failed = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        failed += 1
        continue
    for suite in root.iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        passed += tests - skipped - bad
        failed += bad
print(f"{passed} passed, {failed} failed")
EOF
exit $status
