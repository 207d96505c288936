#!/bin/sh
# Runs every test stage `make test` promises, in order, and stops at the
# first failure:
#   1. unit tests (Check) on the normal build
#   2. end-to-end, conformance, signalctl, OpenAPI, metrics, sd_notify and
#      robustness suites against the normal build
#   3. the signal-bench smoke run (every message once, in order, decrypted)
#   4. unit, end-to-end, conformance, robustness and smoke under ASan + UBSan
#   5. the concurrency stress test under ThreadSanitizer
#   6. short libFuzzer runs of every fuzz target
#   7. systemd unit checks
#   sh tests/run-all.sh BUILD_DIR
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

stage() {
    printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

stage "unit tests"
meson test -C "$build" --suite unit --print-errorlogs

stage "end-to-end suite"
sh tests/e2e/run.sh "$build"

stage "conformance suite"
sh tests/conformance/run.sh "$build"

stage "signalctl suite"
sh tests/signalctl/run.sh "$build"

stage "OpenAPI document and responses"
sh tests/openapi/run.sh "$build"

stage "metrics and systemd notifications"
sh tests/metrics/run.sh "$build"
sh tests/notify/run.sh "$build"

stage "robustness suite"
sh tests/robustness/run.sh "$build"

stage "signal-bench smoke"
sh bench/smoke.sh "$build"

stage "AddressSanitizer + UndefinedBehaviorSanitizer build"
[ -f build-asan/build.ninja ] ||
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        --buildtype=debug >/dev/null
meson compile -C build-asan >/dev/null
meson test -C build-asan --suite unit --print-errorlogs
sh tests/e2e/run.sh build-asan
sh tests/conformance/run.sh build-asan
sh tests/robustness/run.sh build-asan
sh bench/smoke.sh build-asan

stage "ThreadSanitizer stress test"
[ -f build-tsan/build.ninja ] ||
    CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false \
        --buildtype=debugoptimized >/dev/null
meson compile -C build-tsan >/dev/null
sh tests/stress/run.sh build-tsan

stage "fuzz targets (short runs)"
sh fuzz/run.sh 10

stage "systemd units"
sh tests/systemd/check-units.sh "$build"

stage "TLS through nginx"
sh tests/nginx/test_nginx.sh "$build"

stage "all tests passed"
