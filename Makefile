# automagic — every entry point a person or CI uses.
# `make demo` (fresh machine: set-up + image + fixture mirror + QEMU demo) and
# `make test` (set-up + check + every test suite) are the README's two commands.
SHELL := /bin/bash
.DEFAULT_GOAL := help
AUTOMAGIC := ./bin/automagic

.PHONY: help setup check typecheck lint format-check test unit integration e2e e2e-uefi e2e-ab bench chaos image fixture demo release clean

help:
	@echo "make demo   - install everything, build the image and fixture mirror, netboot a QEMU machine that installs itself"
	@echo "make test   - install everything, then check + unit + integration + e2e"
	@echo "make check  - typecheck + lint + format check"
	@echo "make unit | integration | e2e | e2e-uefi | e2e-ab | bench | chaos | image | fixture"
	@echo "make release - dist/automagic-<version>-linux-x64.tar.gz: the server to install as a service"

# serve's run-time packages, then the test, bench, demo and image-building tools.
setup:
	./bin/setup-debian
	./bin/setup-debian-test

check: typecheck lint format-check

typecheck:
	npx tsc --noEmit

lint:
	npx eslint --max-warnings=0 .

format-check:
	npx prettier --check .

unit:
	bash test/run.sh unit

integration:
	bash test/run.sh integration

e2e:
	bash test/run.sh e2e

# The UEFI (OVMF, systemd, create layout) install in proxy-DHCP mode; also part of `make test`.
e2e-uefi:
	bash test/run.sh e2e-uefi

# A BIOS machine with two root slots: install into a, then `reinstall --via ssh`
# into b while a runs. Not part of `make test` yet (CI's time budget).
e2e-ab:
	bash test/run.sh e2e-ab

test: setup check
	bash test/run.sh all

bench: setup
	bash test/bench/run.sh

# The adversarial figures in docs/RELIABILITY.md (token theft, floods, kill -9, full disk).
chaos: setup
	bash test/chaos/run.sh

image: setup
	$(AUTOMAGIC) image build

fixture: setup
	npx tsx test/fixture-mirror/build.ts

demo: setup
	MIRROR="$(MIRROR)" npx tsx test/e2e/demo.ts

# The server as a tarball that runs without this checkout (contrib/release/README.md).
release:
	bash contrib/release/build.sh

clean:
	rm -rf build var dist
