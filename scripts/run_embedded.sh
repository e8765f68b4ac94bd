#!/usr/bin/env bash
# The embedded default: SQLite, local files, and a Celery worker on kombu's filesystem broker (no server needed).
# Starts the worker (with beat for retention and stuck-job recovery) and the web app, and stops both together.
#
# Listeners' pages: DEBUG is off unless METALIZER_DEBUG=1 is set explicitly, so an unknown or expired link
# shows the product's 404 page, not Django's technical one. The app is served over plain HTTP on the loopback
# interface, so the HTTPS redirect and Secure-only cookies (production's defaults) are turned off here, and a
# secret key is made once and kept in the data folder.
#
# Stopping (Ctrl-C, SIGTERM): each process runs in its own process group (set -m), the trap forwards SIGTERM
# to the web server and the worker, waits at most METALIZER_STOP_GRACE_S seconds (default 5) for them to
# finish, then SIGKILLs whatever is left of each group (the worker's pool and beat children included). A job
# cut off mid-run is requeued by the worker's stuck-job recovery at the next start.
set -euo pipefail
set -m
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
BIN=.venv/bin
DATA_DIR="${METALIZER_DATA_DIR:-data}"
STOP_GRACE_S="${METALIZER_STOP_GRACE_S:-5}"
mkdir -p "$DATA_DIR/logs"
export QUEUE_BACKEND="${QUEUE_BACKEND:-embedded}"
export METALIZER_DEBUG="${METALIZER_DEBUG:-0}"
export METALIZER_SECURE_SSL_REDIRECT="${METALIZER_SECURE_SSL_REDIRECT:-0}"
export METALIZER_SECURE_COOKIES="${METALIZER_SECURE_COOKIES:-0}"
if [ -z "${METALIZER_SECRET_KEY:-}" ]; then
  key_file="$DATA_DIR/secret_key"
  if [ ! -s "$key_file" ]; then
    (umask 077 && $BIN/python -c "import secrets; print(secrets.token_urlsafe(50))" >"$key_file")
  fi
  METALIZER_SECRET_KEY="$(cat "$key_file")"
  export METALIZER_SECRET_KEY
fi

worker=""
web=""
group_alive() { [ -n "$1" ] && kill -0 -- "-$1" 2>/dev/null; }

stop_all() {
  trap '' INT TERM
  for pid in $web $worker; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + STOP_GRACE_S))
  while { group_alive "$web" || group_alive "$worker"; } && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  for pid in $web $worker; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
on_signal() {
  echo
  echo "  Stopping Metalizer..."
  stop_all
  exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'stop_all' EXIT

$BIN/celery -A metalizer_site worker --beat -Q heavy,default -c 1 --loglevel=INFO \
  >"$DATA_DIR/logs/worker.log" 2>&1 </dev/null &
worker=$!

sleep 2
if ! kill -0 "$worker" 2>/dev/null; then
  echo "The Celery worker did not start; see $DATA_DIR/logs/worker.log:" >&2
  tail -n 20 "$DATA_DIR/logs/worker.log" >&2
  exit 1
fi
$BIN/python manage.py runserver "127.0.0.1:${PORT}" --noreload </dev/null &
web=$!
echo
echo "  Metalizer is running: http://127.0.0.1:${PORT}/   (worker log: $DATA_DIR/logs/worker.log; Ctrl-C stops both)"
echo
# Whichever stops first (a crash, a port in use) stops the other; a signal interrupts this wait at once.
status=0
wait -n "$web" "$worker" || status=$?
stop_all
exit "$status"
