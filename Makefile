# The README's two commands, `make demo` and `make test`, set up everything they need on a
# fresh Debian machine: Debian packages (when running as root) and node modules.
SHELL := /bin/bash
APT_PACKAGES := libpcap-dev tcpdump tshark iproute2 iptables redis-server rabbitmq-server \
                wrk nghttp2 graphviz dnsutils dnsmasq kcat openssl curl time python3 jq

.PHONY: all deps apt build sea dist test fuzz bench demo typecheck clean

all: build

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "WARNING: missing Debian packages ($$missing) and not root: tests that need them will skip" >&2; \
	  fi; \
	fi

node_modules/.package-lock.json: package-lock.json | apt
	npm ci --no-audit --no-fund

deps: apt node_modules/.package-lock.json

build: deps
	node scripts/build.mjs

# The Linux/amd64 single executable (Node's single-executable applications; ~100 MB).
sea: build
	node scripts/sea.mjs

# Release archives, the npm package and the krew manifest (docs/install.md).
dist: sea
	node scripts/dist.mjs

typecheck: deps
	npx tsc --noEmit -p .

test: build
	npx tsc --noEmit -p .
	node scripts/run-tests.mjs

fuzz: build
	FUZZ_CASES=0 node --import tsx test/engine/robustness.fuzz.ts

bench: build
	node --import tsx bench/run.ts

demo: build
	bash scripts/demo.sh

clean:
	rm -rf dist bench/out krew-manifest.yaml
