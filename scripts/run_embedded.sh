#!/usr/bin/env bash
# The embedded default: SQLite, local files, and a Celery worker on kombu's filesystem broker (no server needed).
# Starts the worker (with beat for retention and stuck-job recovery) in the background, the web app in front.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
BIN=.venv/bin
mkdir -p data/logs
export QUEUE_BACKEND="${QUEUE_BACKEND:-embedded}"

$BIN/celery -A metalizer_site worker --beat -Q heavy,default -c 1 --loglevel=INFO >data/logs/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

sleep 2
if ! kill -0 "$worker" 2>/dev/null; then
  echo "The Celery worker did not start; see data/logs/worker.log:" >&2
  tail -n 20 data/logs/worker.log >&2
  exit 1
fi
echo
echo "  Metalizer is running: http://127.0.0.1:${PORT}/   (worker log: data/logs/worker.log; Ctrl-C stops both)"
echo
$BIN/python manage.py runserver "127.0.0.1:${PORT}" --noreload
