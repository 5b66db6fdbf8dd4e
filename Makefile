# ShopDesk — `make run` starts everything, `make test` tests everything. `make help` lists the rest.
# Setup is idempotent: environments are installed from the lock files once, the Rasa model is retrained
# only when the domain, training data or config changed, indexes and the responder only when their inputs did.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY310 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10.13/bin/python3.10) $(shell command -v python3.10 2>/dev/null))
PY311 ?= $(firstword $(shell command -v python3.11 2>/dev/null) $(wildcard $(PYENV_ROOT)/versions/3.11*/bin/python3.11))

RASA_VENV := .venv/rasa
APP_VENV := .venv/app
RASA := $(RASA_VENV)/bin/rasa
PY := $(APP_VENV)/bin/python
DATA_DIR ?= ../shared/data

# Embedded defaults for every process (documented in .env.example); the environment overrides them.
export SHOPDESK_ENV ?= development
export SHOP_DB_PATH ?= var/shop.db
export INDEX_DIR ?= var/index
export RESPONDER_DIR ?= var/responder
export RESPONDER_DATA_DIR ?= var/responder-data
export RESPONDER_CONFIG ?= $(if $(CI),cpu_ci,cpu_small)
export SENTIMENT_DIR ?= var/sentiment
export SENTIMENT_CONFIG ?= $(if $(CI),cpu_ci,cpu_small)
export ACTION_SERVER_URL ?= http://127.0.0.1:5055/webhook
export TRACKER_URL ?= sqlite:///var/tracker.db
export EVENT_BROKER_DB ?= var/events.db
export ANALYTICS_DB ?= var/analytics.db
export RASA_URL ?= http://127.0.0.1:5005
export RASA_TOKEN ?= dev-rasa-token
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONUNBUFFERED := 1
export RASA_TELEMETRY_ENABLED := false

DIALOGUE_DATA := training_data/nlu training_data/rules training_data/stories
DIALOGUE_INPUTS := config.yml $(shell find domain $(DIALOGUE_DATA) -name '*.yml' 2>/dev/null)

.PHONY: help setup run shell test test-unit test-conversations test-live validate lint typecheck \
        data reseed catalog index responder model browser-deps clean verify-orders import-catalog \
        bench-nlu bench-load bench-startup bench-retrieval bench-recs bench-catalog-update bench-faiss bench-responder bench-responder-train \
        bench-ledger bench-handoff bench-restart analytics themes bench-broker sentiment sentiment-predict \
        bench-sentiment redis-deps bench-lock bench-profile bench-load-open bench-load-cluster adapt-encoder

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------------------------- setup
# Bytecode for an environment's packages, compiled once here (all cores), whatever PYTHONDONTWRITEBYTECODE says:
# without it every process start compiles TensorFlow, torch and transformers from source again (half of each
# server's start-up CPU on a machine that sets the variable; docs/benchmarks.md "Cold start"). A few packages ship
# files that are not Python 3 (never imported), so compileall's exit status is not the install's.
define bytecode
	@echo "==> bytecode for $(1)"
	@env -u PYTHONDONTWRITEBYTECODE $(1)/bin/python -m compileall -q -q -j 0 $(1)/lib >/dev/null 2>&1 \
	  || echo "    (some package files are not Python 3 and were skipped)"
endef

setup: $(RASA_VENV)/.installed $(APP_VENV)/.installed node_modules/.installed ## install both environments and the npm parts

$(RASA_VENV)/.installed: requirements/rasa.lock
	@test -n "$(PY310)" || { echo "error: Python 3.10 not found: Rasa 3.6 needs it. Looked for $(PYENV_ROOT)/versions/3.10.13/bin/python3.10 and python3.10 on PATH; install it with 'pyenv install 3.10.13' or set PY310=/path/to/python3.10" >&2; exit 1; }
	@echo "==> Rasa environment (Python 3.10: $(PY310))"
	$(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --disable-pip-version-check --prefer-binary --no-compile --no-deps -r requirements/rasa.lock
	$(call bytecode,$(RASA_VENV))
	@touch $@

$(APP_VENV)/.installed: requirements/app.lock
	@test -n "$(PY311)" || { echo "error: Python 3.11 not found: the action server needs it. Install it with 'pyenv install 3.11.7' or set PY311=/path/to/python3.11" >&2; exit 1; }
	@echo "==> application environment (Python 3.11: $(PY311))"
	$(PY311) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install --quiet --disable-pip-version-check --prefer-binary --no-compile --no-deps -r requirements/app.lock
	$(call bytecode,$(APP_VENV))
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js 20 (apt-get install -y nodejs npm)" >&2; exit 1; }
	@echo "==> npm parts (socket.io client for the widget, anvil)"
	@# `npm ci` refuses this lock: npm records only this platform's optional anvil binaries in it.
	npm install --no-audit --no-fund --no-save --loglevel=error
	@touch $@

browser-deps: ## install Debian's Chromium for the browser tests (needs root)
	@command -v chromium >/dev/null || { echo "==> installing chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

redis-deps: ## install Debian's redis-server when it is missing (the lock store's tests start one; needs root)
	@command -v redis-server >/dev/null || test -x /usr/bin/redis-server || { echo "==> installing redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }

# ----------------------------------------------------------------------------------- build artifacts
analytics: setup ## Rasa's broker events (EVENT_BROKER_DB) -> the analytics tables (ANALYTICS_DB), incrementally
	$(PY) -m analytics.refresh

themes: setup analytics ## group complaints, low ratings' comments and negative messages into themes (ANALYTICS_DB)
	$(PY) -m analytics.themes

data: setup ## seed the demo shop's order store, its orders' ledger records queued (once; `make reseed` starts afresh)
	$(PY) -m actions.seed_shop --db $(SHOP_DB_PATH)

reseed: setup ## rebuild the demo shop's order store from the seed
	$(PY) -m actions.seed_shop --db $(SHOP_DB_PATH) --force

catalog: setup ## regenerate the demo catalog (training_data/catalog/demo_products.csv)
	$(PY) -m shop.demo.catalog_gen

index: setup ## build the FAISS indexes for the catalog and knowledge base (when their inputs changed)
	$(PY) -m retrieval.build --index-dir $(INDEX_DIR) $(if $(SHOPDESK_CATALOG_ENCODER),--catalog-model $(SHOPDESK_CATALOG_ENCODER),)

responder: setup index ## fine-tune the BERT responder (when its inputs changed; RESPONDER_CONFIG=cpu_small|cpu_ci|gpu_full)
	$(PY) -m retrieval.responder.training.build_data --out $(RESPONDER_DATA_DIR) --index-dir $(INDEX_DIR)
	$(PY) -m retrieval.responder.training.train --config $(RESPONDER_CONFIG) --data $(RESPONDER_DATA_DIR) --out $(RESPONDER_DIR) $(if $(CI),--no-progress,)

sentiment: setup ## train the sentiment model (when its inputs changed; SENTIMENT_CONFIG=cpu_ci|cpu_small|gpu_full)
	$(PY) -m sentiment.train --config $(SENTIMENT_CONFIG) --data-dir $(DATA_DIR) --out $(SENTIMENT_DIR) $(if $(CI),--no-progress,)

sentiment-predict: setup ## score texts: make sentiment-predict IN=texts.jsonl OUT=preds.jsonl (lines {"text": ...})
	@test -n "$(IN)" -a -n "$(OUT)" || { echo 'usage: make sentiment-predict IN=texts.jsonl OUT=preds.jsonl' >&2; exit 2; }
	$(PY) -m sentiment.predict --in $(IN) --out $(OUT)

model: setup models/.trained ## train the Rasa model (only when domain, training data or config changed)

models/.trained: $(DIALOGUE_INPUTS) | $(RASA_VENV)/.installed
	@echo "==> training the Rasa model"
	$(RASA) train --domain domain --data $(DIALOGUE_DATA) --config config.yml --out models --fixed-model-name shopdesk
	@touch $@

# ------------------------------------------------------------------------- production topology (issue 15)
# Debian's engines (docs/deploy.md); apt only when a binary is missing. The image's policy-rc.d keeps apt from
# starting them as services: scripts/engines.py and scripts/cluster.py start them as child processes.
CLUSTER_BINARIES := redis-server rabbitmq-server nginx
.PHONY: cluster-deps run-cluster test-cluster
cluster-deps: ## install the cluster's engines from Debian (redis-server postgresql rabbitmq-server nginx) when missing
	@missing=""; for bin in $(CLUSTER_BINARIES); do command -v $$bin >/dev/null || [ -x /usr/sbin/$$bin ] || missing="$$missing $$bin"; done; \
	  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgres"; \
	  if [ -n "$$missing" ]; then echo "==> installing the cluster's engines (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql rabbitmq-server nginx >/dev/null; fi

run-cluster: setup data index responder sentiment model cluster-deps ## the production topology on this box: nginx, RASA_INSTANCES Rasa (2), ACTION_WORKERS action servers (2), Postgres, Redis, RabbitMQ (Ctrl-C stops it)
	$(PY) -m scripts.cluster

test-cluster: setup data index responder sentiment model cluster-deps ## the tests against the real engines and the cluster (pytest -m cluster; CI job: .ci/cluster)
	$(PY) -m pytest -m cluster

# --------------------------------------------------------------------------------------------- run
run: setup data index responder sentiment model ## set up, train if needed and start the whole platform (Ctrl-C stops it)
	$(PY) -m scripts.run

shell: ## chat with the running assistant in this terminal (start it with `make run` first)
	$(PY) -m scripts.chat --url $(RASA_URL)

verify-orders: setup ## compare every order with its ledger record (ORDER=SD-100042 for one)
	$(PY) -m actions.verify_orders $(if $(ORDER),--order $(ORDER),)

import-catalog: setup ## import a catalog (a running action server picks it up): make import-catalog FILE=catalog.csv [FORMAT=csv] [PRESET=myntra] [UPDATE=1 [REMOVE="P-1 P-2"]]
	$(PY) -m retrieval.import_catalog $(FILE) $(if $(FORMAT),--format $(FORMAT),) $(if $(PRESET),--preset $(PRESET),) --index-dir $(INDEX_DIR) $(if $(UPDATE),--update,) $(if $(REMOVE),--remove $(REMOVE),) $(if $(SHOPDESK_CATALOG_ENCODER),--catalog-model $(SHOPDESK_CATALOG_ENCODER),)

# -------------------------------------------------------------------------------------------- tests
# `make test` runs everything before pytest as one parallel make (TEST_JOBS at once, each job's output kept
# together): the two environments install side by side, the Rasa model trains as soon as its environment is there,
# the responder and the sentiment model (torch) train beside it, and lint, validate and the conversation tests fill
# the gaps. On 2 cores each of these leaves part of the CPU idle alone (docs/benchmarks.md, "CI time (issue 14)").
TEST_JOBS ?= 3
TEST_BUILDS := model index responder sentiment
test: browser-deps redis-deps ## set up and run every test: lint, validation, conversations, unit, live, browser
	$(MAKE) -j$(TEST_JOBS) --output-sync=target $(TEST_BUILDS) lint validate test-conversations
	$(PY) -m pytest

test-unit: setup redis-deps ## the fast tests (no live servers, no browser)
	$(PY) -m pytest -m "not integration and not browser and not slow and not cluster"

test-live: setup model ## the tests against the real servers
	$(PY) -m pytest -m "integration or browser"

validate: setup ## rasa data validate on the domain and training data; the contract artifact matches its source
	$(RASA) data validate --domain domain --data $(DIALOGUE_DATA) --config config.yml
	$(PY) -m ledger.compile --check

test-conversations: model ## the conversation tests (rasa test --fail-on-prediction-errors)
	$(RASA) test core --stories tests/conversations -m models/shopdesk.tar.gz --fail-on-prediction-errors --out results/conversations

lint: setup ## ruff (lint + format check)
	$(APP_VENV)/bin/ruff check .
	$(APP_VENV)/bin/ruff format --check .

typecheck: setup ## mypy on the packages
	$(APP_VENV)/bin/mypy actions retrieval ledger bot scripts shop

# ---------------------------------------------------------------------------------------- benchmarks
bench-nlu: setup ## NLU accuracy/macro-F1 on Bitext validation, our data alone vs + Bitext train
	$(RASA_VENV)/bin/python bench/nlu_eval.py --data-dir $(DATA_DIR)

bench-load: setup model ## closed loop 1/10/20/50 shoppers: echo floor, before and after the cost cuts (msg/s, p50/p95/p99, CPU/msg)
	$(PY) -m bench.load_rest

bench-load-open: setup model ## open loop (Poisson shoppers, think time): highest msg/s with p95 <= 300 ms (URL=http://... for a running stack)
	$(PY) -m bench.load_open $(if $(URL),--url $(URL))

bench-load-cluster: setup data index responder sentiment model cluster-deps ## open loop against run-cluster with 1, 2, 3 Rasa instances (INSTANCES=1,2,3), every part's CPU per message
	$(PY) -m bench.load_open_cluster $(if $(INSTANCES),--instances $(INSTANCES))

bench-profile: setup model ## py-spy profile of Rasa and the action server per message (results/profile/, VARIANT=before|after)
	$(PY) -m bench.profile_message --variant $(or $(VARIANT),after)

bench-startup: setup model ## cold start of the stack, one process at a time vs in parallel (TRAIN=1: time training too)
	$(PY) -m bench.startup $(if $(TRAIN),--train)

bench-retrieval: setup index ## BM25 vs dense vs hybrid (+ responder) quality; Flat/HNSW/IVF speed and recall
	$(PY) -m bench.retrieval_quality --data-dir $(DATA_DIR)
	$(PY) -m bench.retrieval_speed --data-dir $(DATA_DIR)

adapt-encoder: setup ## fine-tune the bi-encoder on the catalog's description->title pairs (off by default; CATALOG= PRESET= OUT=)
	$(PY) -m retrieval.adapt --catalog $(or $(CATALOG),training_data/catalog/demo_products.csv) --preset $(or $(PRESET),demo) --out $(or $(OUT),var/encoder-adapted)

bench-recs: setup ## recommendations on real purchases (Online Retail II, temporal split)
	$(PY) -m bench.recs_eval --data-dir $(DATA_DIR)

bench-faiss: setup ## Faiss at scale: Flat vs IVF-Flat/SQ8/PQ(+refine)/HNSW at 100k and 1M (B/vector, recall@10, p95; GPU when faiss sees one)
	$(PY) -m bench.faiss_scale --data-dir $(DATA_DIR)

bench-catalog-update: setup ## live catalog updates: import 1k changes, time until the running service answers from them
	$(PY) -m bench.catalog_update --data-dir $(DATA_DIR)

bench-responder: setup responder ## BM25 vs bi-encoder vs + responder; re-rank latency fp32 vs bf16 vs int8
	$(PY) -m bench.responder_eval --data-dir $(DATA_DIR)

bench-responder-train: setup responder ## responder training pairs/s: CPU fp32 vs CPU bf16 vs CUDA (RESPONDER_CONFIG=gpu_full)
	$(PY) -m bench.responder_train_speed --config $(if $(filter command line,$(origin RESPONDER_CONFIG)),$(RESPONDER_CONFIG),gpu_full)

bench-ledger: setup ## records/s to eth-tester and anvil, verification and catch-up times
	$(PY) bench/ledger_throughput.py --n 500
	$(PY) bench/ledger_verify.py --n 10000
	$(PY) bench/ledger_catchup.py --n 1000

bench-handoff: setup model ## handoff latency, console fed by polling vs RabbitMQ, 10 and 50 conversations
	$(PY) -m bench.handoff_latency

bench-lock: setup redis-deps model ## conversation lock, Rasa's RedisLockStore vs ours: K replicas x M messages, then 10 clients on 2 real Rasa instances
	$(RASA_VENV)/bin/python -m bench.lock_race
	$(PY) -m bench.lock_rasa

bench-broker: setup model ## what the event broker costs: per published event, and a turn with vs without it
	$(RASA_VENV)/bin/python -m bench.broker_publish
	$(PY) -m bench.broker_latency

bench-restart: setup model ## restart time per process (kill -9, p50 of 5) and the replies during each gap
	$(PY) -m bench.restart --kills 5

bench-sentiment: setup sentiment ## sentiment: lexicon vs linear-on-embeddings vs fine-tuned per language/source, CPU ms/message
	$(PY) -m bench.sentiment_eval --data-dir $(DATA_DIR) --model-dir $(SENTIMENT_DIR)

.PHONY: bench-conversations
bench-conversations: setup model ## held-out shopper conversations: containment, wrong actions, fallbacks, p95 (MODEL=, SPLIT=)
	$(PY) -m bench.conversations_eval --model $(or $(MODEL),models/shopdesk.tar.gz) --split $(or $(SPLIT),both)

clean: ## remove runtime state and trained artifacts (keeps the environments)
	rm -rf var models results artifacts
