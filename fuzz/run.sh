#!/usr/bin/env bash
# Runs one fuzz target under AFL++ for SECONDS (docs/fuzzing.md):
#   fuzz/run.sh TARGET SECONDS [extra afl-fuzz options...]
# Installs afl++ (Debian) and the SharpFuzz.CommandLine dotnet tool if missing, publishes the
# driver into fuzz/.work/TARGET/bin, instruments the assemblies the target exercises, runs afl-fuzz
# from fuzz/corpus/TARGET (resuming from earlier findings in fuzz/.work/TARGET/findings), then
# prints executions and findings. Targets: pvimg hostcall virtio trap portio nvme virtio-async.
# FUZZ_REUSE_BIN=1 reuses an already instrumented driver (campaigns queued while the code changes).
set -euo pipefail

target="${1:?usage: fuzz/run.sh TARGET SECONDS}"
seconds="${2:?usage: fuzz/run.sh TARGET SECONDS}"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
work="$here/.work/$target"
bin="$work/bin"
findings="$work/findings"

case "$target" in
  pvimg)    instrument=(ParaVirt.Image) ;;
  hostcall) instrument=(ParaVirt.HostCalls MessagePack) ;;
  virtio)   instrument=(ParaVirt.Virtio ParaVirt.Devices.Virtio ParaVirt.Core) ;;
  trap)     instrument=(ParaVirt.Cpu ParaVirt.Core ParaVirt.Devices.Emulated Iced) ;;
  portio)   instrument=(ParaVirt.Devices.Emulated ParaVirt.Core) ;;
  nvme)     instrument=(ParaVirt.Devices.Emulated ParaVirt.Core) ;;
  virtio-async) instrument=(ParaVirt.Virtio ParaVirt.Devices.Virtio ParaVirt.Core) ;;
  *) echo "unknown target '$target' (pvimg hostcall virtio trap portio nvme virtio-async)" >&2; exit 2 ;;
esac

if ! command -v afl-fuzz >/dev/null; then
  echo "== installing afl++"
  apt-get update -qq && apt-get install -y -qq afl++ >/dev/null
fi
sharpfuzz="$here/.tools/sharpfuzz"
if [ ! -x "$sharpfuzz" ]; then
  echo "== installing SharpFuzz.CommandLine"
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$here/.tools" >/dev/null
fi

if [ "${FUZZ_REUSE_BIN:-0}" = 1 ] && [ -f "$bin/.instrumented" ]; then
  echo "== reusing the instrumented driver in $bin (FUZZ_REUSE_BIN=1)"
else
  echo "== publishing the driver to $bin"
  rm -rf "$bin"
  dotnet publish "$here/ParaVirt.Fuzz/ParaVirt.Fuzz.csproj" -c Release -o "$bin" -v quiet -nologo >/dev/null
  for assembly in "${instrument[@]}"; do
    "$sharpfuzz" "$bin/$assembly.dll" >/dev/null
  done
  touch "$bin/.instrumented"
  echo "== instrumented: ${instrument[*]}"
fi

input="$here/corpus/$target"
if [ -d "$findings/default/queue" ]; then
  input="-"   # resume the earlier campaign
fi
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export DOTNET_TieredPGO=0
echo "== afl-fuzz $target for ${seconds}s"
afl-fuzz -i "$input" -o "$findings" -V "$seconds" -t 10000 -m none "$@" -- dotnet "$bin/ParaVirt.Fuzz.dll" "$target" \
  > "$work/afl.log" 2>&1 || { echo "afl-fuzz failed; last lines of $work/afl.log:"; tail -20 "$work/afl.log"; exit 1; }

# afl-fuzz kills the target at the end: remove the scratch disks of targets no longer alive.
for f in /dev/shm/paravirt-fuzz-*.img; do
  [ -e "$f" ] || continue
  pid="${f#/dev/shm/paravirt-fuzz-}"; pid="${pid%%-*}"
  kill -0 "$pid" 2>/dev/null || rm -f "$f"
done

stats="$findings/default/fuzzer_stats"
echo "== $target: results ($stats)"
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|stability) ' "$stats"
crashes=$(find "$findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "crash files: $crashes (in $findings/default/crashes), hang files: $hangs"
if [ "$crashes" -gt 0 ]; then
  dotnet "$bin/ParaVirt.Fuzz.dll" "$target" replay "$findings/default/crashes" || true
fi
