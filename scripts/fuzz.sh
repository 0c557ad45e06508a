#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets/) for SECONDS, one after the
# other on one core, and prints how many inputs each ran:
#   scripts/fuzz.sh SECONDS [TARGET...]
#   scripts/fuzz.sh --merge SECONDS [TARGET...]   and then add to the committed
#                   corpus (fuzz/corpus/TARGET) the finds that reach new coverage
# Each run starts from the committed corpus; new inputs go to
# fuzz/target/corpus/TARGET (not committed), a crashing input to
# fuzz/artifacts/TARGET/. Exits 1 if any target crashed.
#
# cargo-fuzz and libFuzzer on stable Rust: `--sanitizer none` needs no
# nightly flag (the targets test safe Rust, where AddressSanitizer finds
# nothing that a panic does not). Debug assertions stay on, so an integer
# overflow is a crash too. See docs/reliability.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
CARGO_FUZZ_VERSION=0.13.2

merge=false
if [ "${1:-}" = "--merge" ]; then
    merge=true
    shift
fi
seconds="${1:-}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [--merge] SECONDS [TARGET...]" >&2
    exit 2
fi
shift

. scripts/apt.sh
# libfuzzer-sys compiles libFuzzer (C++); the targets link libpython through pyo3.
install_missing g++ python3-dev
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd fuzz
if (($#)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
echo "==> building the fuzz targets"
cargo fuzz build --sanitizer none

failed=()
summary=()
for target in "${targets[@]}"; do
    work="target/corpus/$target"
    mkdir -p "$work" "corpus/$target"
    log="target/fuzz-$target.log"
    echo "==> $target: $seconds s"
    status=0
    cargo fuzz run --sanitizer none "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        summary+=("$target: CRASHED after ${runs:-?} inputs (log fuzz/$log, input in fuzz/artifacts/$target/)")
        grep -E "panicked|ERROR: libFuzzer|Test unit written" "$log" | head -n 5 >&2 || true
        continue
    fi
    summary+=("$target: ${runs:-?} inputs, no crash")
    if $merge; then
        # Adds to the committed corpus only the finds that reach coverage
        # it does not (the seeds keep their names).
        cargo fuzz run --sanitizer none "$target" "corpus/$target" "$work" \
            -- -merge=1 >"target/merge-$target.log" 2>&1
        echo "    corpus/$target: $(find "corpus/$target" -type f | wc -l) inputs"
    fi
done
printf '%s\n' "==> fuzzing, $seconds s per target:" "${summary[@]/#/    }"
if ((${#failed[@]})); then
    echo "fuzz targets that crashed: ${failed[*]}" >&2
    exit 1
fi
