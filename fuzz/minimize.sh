#!/usr/bin/env bash
# Folds a campaign's queue into the committed corpus (docs/fuzzing.md):
#   fuzz/minimize.sh TARGET
# runs afl-cmin over fuzz/corpus/TARGET plus fuzz/.work/TARGET/findings/default/queue with the
# instrumented driver fuzz/run.sh built, and replaces fuzz/corpus/TARGET with the smallest set of
# files that keeps every coverage tuple, plus every named seed. Queue entries become qNNNNNN.
set -euo pipefail

target="${1:?usage: fuzz/minimize.sh TARGET}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$here/.work/$target"
[ -f "$work/bin/.instrumented" ] || { echo "run fuzz/run.sh $target first" >&2; exit 1; }
all="$work/cmin-in" out="$work/cmin-out"
rm -rf "$all" "$out"
mkdir -p "$all"
cp "$here/corpus/$target"/* "$all/"
if [ -d "$work/findings/default/queue" ]; then
  for f in "$work/findings/default/queue"/id:*; do
    id="${f##*/id:}"; cp "$f" "$all/q${id%%,*}"
  done
fi
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1
afl-cmin -i "$all" -o "$out" -t 10000 -m none -- "$(readlink -f "$(command -v dotnet)")" "$work/bin/ParaVirt.Fuzz.dll" "$target" > "$work/cmin.log" 2>&1 \
  || { tail -20 "$work/cmin.log"; exit 1; }
# The named seeds stay whatever afl-cmin chose: they document each path the target starts from.
find "$all" -maxdepth 1 -type f ! -name 'q*' -exec cp -n {} "$out/" \;
rm -rf "$here/corpus/$target"
mv "$out" "$here/corpus/$target"
echo "$target: $(ls "$all" | wc -l) inputs -> $(ls "$here/corpus/$target" | wc -l) files, $(du -sh "$here/corpus/$target" | cut -f1)"
