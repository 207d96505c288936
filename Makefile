# Thin driver over meson. `make run` and `make test` install the Debian
# packages they need first (they expect root on Debian 12).
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all build run test deps bench fuzz soak deb clean

all: build

deps:
	sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

build: $(BUILD)/build.ninja
	meson compile -C $(BUILD)

run: deps
	$(MAKE) build
	sh scripts/dev-run.sh $(BUILD)

test: deps
	$(MAKE) build
	sh tests/run-all.sh $(BUILD)

bench: deps
	$(MAKE) build MESON_FLAGS=--buildtype=release BUILD=build-release
	sh bench/run.sh build-release

fuzz: deps
	sh fuzz/run.sh

soak: deps
	$(MAKE) build MESON_FLAGS=--buildtype=release BUILD=build-release
	sh tests/soak.sh build-release

deb: deps
	sh packaging/build-deb.sh

clean:
	rm -rf build build-release build-asan build-tsan build-fuzz
