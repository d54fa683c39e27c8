# The README's two commands, `make demo` and `make test`, set up everything they need on a
# fresh Debian machine: Debian packages (when running as root) and node modules.
SHELL := /bin/bash
APT_PACKAGES := libpcap-dev gcc libc6-dev tcpdump tshark iproute2 iptables redis-server rabbitmq-server \
                wrk nghttp2 graphviz dnsutils dnsmasq kcat openssl curl time python3 jq \
                zstd podman buildah runc debootstrap

# The tapper image (tapper-image/Dockerfile, docs/image.md), tagged with the package version.
VERSION       := $(shell node -p "require('./package.json').version")
IMAGE         ?= kubectl-tap/tapper:$(VERSION)
# The same image under a tag of this checkout's own: the simulated kubelet runs that one, so
# two checkouts on one machine (one podman storage) never run each other's daemon.
IMAGE_CHECKOUT = kubectl-tap/tapper:$(VERSION)-checkout-$(shell printf %s "$(CURDIR)" | sha256sum | cut -c1-8)
IMAGE_BASE    ?= kubectl-tap/build-base:bookworm
IMAGE_ARCHIVE ?= dist/kubectl-tap-tapper-$(VERSION).oci.tar
IMAGE_ARCHIVE_FORMAT ?= oci-archive
PODMAN_ENV    := CONTAINERS_CONF=$(CURDIR)/tapper-image/containers.conf

.PHONY: all deps apt build sea dist test fuzz bench soak demo typecheck clean image image-archive clean-image

all: build

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing >&2; \
	    apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing >/dev/null; \
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

# As root the tapper image is built (cached: seconds) so the simulated kubelet runs it as a container.
test: build
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory image IMAGE_BUILD_FLAGS=--quiet; \
	else echo "WARNING: not root: no tapper image; the simulated kubelet runs the tapper as a local process" >&2; fi
	npx tsc --noEmit -p .
	node scripts/run-tests.mjs

fuzz: build
	FUZZ_CASES=0 node --import tsx test/engine/robustness.fuzz.ts

# The stage benchmarks against tshark, then (root) the live one: the tapper image as a container
# at fixed call rates (bench/live.ts; LIVE_SECONDS, LIVE_CASE, LIVE_RATES narrow it down), then
# (root) the scale one: N tappers into one kubectl tap through the API server proxy, and the
# API requests of a session with 20 nodes and 500 pods (bench/scale.ts; SCALE_NODES,
# SCALE_SECONDS, SCALE_PODS, SCALE_API_SECONDS, SCALE_PARTS=fanin,api narrow it down).
bench: build
	node --import tsx bench/run.ts
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory image IMAGE_BUILD_FLAGS=--quiet && node --import tsx bench/live.ts; \
	else echo "bench: live part SKIPPED: needs root (network namespaces, podman)" >&2; fi
	@if [ "$$(id -u)" = 0 ]; then node --import tsx bench/scale.ts; \
	else echo "bench: scale part SKIPPED: needs root (network namespaces)" >&2; fi

# The hostile shapes of issue 8 at full size (minutes): peak RSS per shape, what was shed.
# Application layer (test/hostile/soak.ts), then transport layer (transport-soak.ts).
soak: build
	node --import tsx test/hostile/soak.ts; a=$$?; node --import tsx test/hostile/transport-soak.ts; t=$$?; exit $$((a | t))

demo: build
	bash scripts/demo.sh

# Root only (podman builds as root here). From nothing: a debootstrap base, then the two stages.
image: build
	@[ "$$(id -u)" = 0 ] || { echo "make image: needs root (podman, debootstrap)" >&2; exit 1; }
	node tapper-image/fetch-inputs.mjs
	$(PODMAN_ENV) tapper-image/base-image.sh $(IMAGE_BASE)
	$(PODMAN_ENV) podman build $(IMAGE_BUILD_FLAGS) --pull=never --network host --ignorefile tapper-image/.containerignore \
	  --build-arg BASE=$(IMAGE_BASE) --build-arg VERSION=$(VERSION) -t $(IMAGE) -t $(IMAGE_CHECKOUT) -f tapper-image/Dockerfile .
	@$(PODMAN_ENV) podman image inspect --format '$(IMAGE): {{.Size}} bytes' $(IMAGE)

# For clusters that reach no registry: load it with `ctr -n k8s.io images import`, `kind load
# image-archive` or `podman load` (docs/image.md); IMAGE_ARCHIVE_FORMAT=docker-archive for `docker load`.
image-archive: image
	$(PODMAN_ENV) podman save --format $(IMAGE_ARCHIVE_FORMAT) -o $(IMAGE_ARCHIVE) $(IMAGE)
	@ls -l $(IMAGE_ARCHIVE)

clean-image:
	-$(PODMAN_ENV) podman rmi -f $(IMAGE) $(IMAGE_CHECKOUT) $(IMAGE_BASE)
	-$(PODMAN_ENV) podman image prune -f

clean:
	rm -rf dist bench/out krew-manifest.yaml
