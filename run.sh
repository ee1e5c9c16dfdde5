#!/usr/bin/env bash
# Set up and run qa on a fresh machine.
#   ./run.sh serve [--port 8000]   build the index if needed, then serve the API and chat UI
#   ./run.sh test [pytest args]    run the test suite (installs the headless browser it needs)
set -euo pipefail
cd "$(dirname "$0")"

VENV=${QA_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.qa-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # The CPU build of torch first: anything that asks for torch later is then satisfied by it.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    touch "$stamp"
  fi
}

browser() {
  # Chromium for the browser tests; the Noto CJK fonts for them and for the test PDFs made with real fonts.
  local need=""
  [ -x /usr/bin/chromium ] || need="chromium"
  [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need="$need fonts-noto-cjk"
  if [ -n "$need" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need fonts-noto-cjk >/dev/null
  fi
}

cmd=${1:-}
shift || true
case "$cmd" in
  serve)
    setup
    exec "$VENV/bin/qa" serve "$@"
    ;;
  test)
    setup
    browser
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./run.sh serve [--host H] [--port P] | ./run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
