#!/bin/sh
# Builds the libFuzzer targets with clang in build-fuzz and runs each one
# for a fixed time on a scratch copy of its seed corpus, then prints the
# executions and coverage from libFuzzer's final stats.
#   sh fuzz/run.sh [SECONDS_PER_TARGET]        (default 300)
# FUZZ_BUILD overrides the build folder. Exits 1 when a target found a
# crash, a leak or a broken invariant; the input that did it is copied to
# <build>/fuzz-artifacts/<target>/ and the end of the log is printed.
set -eu
seconds=${1:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}

case $seconds in
    ''|*[!0-9]*|0) echo "fuzz: invalid time per target '$seconds'; expected a positive number of seconds" >&2; exit 2 ;;
esac

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

# Prints the output of a failed build step and exits.
run_quietly() {
    if ! "$@" >"$scratch/build.log" 2>&1; then
        cat "$scratch/build.log" >&2
        echo "fuzz: '$*' failed" >&2
        exit 2
    fi
}

if [ ! -f "$build/build.ninja" ]; then
    run_quietly env CC=clang meson setup "$build" "$root" -Dfuzz=true
fi

# The targets are the fuzz_* executables that fuzz/meson.build defines.
targets=$(meson introspect "$build" --targets | /usr/bin/python3 -c '
import json, sys
for target in json.load(sys.stdin):
    if target["type"] == "executable" and target["name"].startswith("fuzz_"):
        print(target["name"])')
if [ -z "$targets" ]; then
    echo "fuzz: $build defines no fuzz_* targets; was it configured with -Dfuzz=true?" >&2
    exit 2
fi
# shellcheck disable=SC2086 # one argument per target
run_quietly meson compile -C "$build" $targets

failed=0

for target in $targets; do
    corpus=$scratch/$target/corpus
    artifacts=$scratch/$target/artifacts
    log=$scratch/$target/log
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$root/fuzz/corpus/$target" ]; then
        cp "$root/fuzz/corpus/$target"/* "$corpus"/
    fi

    status=ok
    if ! "$build/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
            -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" \
            "$corpus" >"$log" 2>&1; then
        status=FAILED
        failed=1
        mkdir -p "$build/fuzz-artifacts/$target"
        cp "$artifacts"/* "$build/fuzz-artifacts/$target"/ 2>/dev/null || true
    fi

    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    coverage=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/edges=\1 features=\2 corpus=\3/p' "$log")
    printf '%-18s %-6s executions=%s exec/s=%s %s\n' "$target" "$status" \
        "${executions:-?}" "${per_second:-?}" "${coverage:-(no final stats)}"
    if [ "$status" = FAILED ]; then
        tail -n 30 "$log" | sed 's/^/    /'
        echo "    inputs kept in $build/fuzz-artifacts/$target/"
    fi
done
exit $failed
