#!/usr/bin/env bash
# Installs the package as users do, on a machine without a compiler: builds the prebuilt N-API
# binary (prebuildify), packs the tarball (npm pack), checks what it carries, installs it into a
# fresh folder with PATH holding only node, npm, npx and sh (no python3, make, cc, g++), and runs
# `npx layerquant --version` and a quantize of stories260K there. Exit 0 only if all of it works
# with the prebuilt binary (node-gyp-build would need the missing compilers to build one).
#   LQ_KEEP=1  keep the scratch folder (printed)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Node's headers from the machine when it has them (no download), as .ci/run does.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node_api.h ]]; then export npm_config_nodedir=/usr; fi
model="${LAYERQUANT_SHARED_DATA:-$root/../shared/data}/models/stories260K/stories260K-f32.gguf"
[[ -f "$model" ]] || { echo "install-check: $model is missing" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/lq-install-XXXXXX")"
[[ "${LQ_KEEP:-}" == 1 ]] && echo "install-check: scratch folder $work" || trap 'rm -rf "$work"' EXIT
fail() { echo "install-check: $*" >&2; exit 1; }

echo "::: prebuilt binary (prebuildify --napi)"
rm -rf prebuilds
npm run --silent build:prebuilds >"$work/prebuildify.log" 2>&1 || { tail -40 "$work/prebuildify.log" >&2; fail "prebuildify failed"; }
ls prebuilds/linux-x64/*.node >/dev/null 2>&1 || fail "prebuildify wrote no prebuilds/linux-x64/*.node"

echo "::: npm pack"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -1)"
tar -tzf "$tarball" | sed 's|^package/||' | sort >"$work/contents"
grep -qx 'prebuilds/linux-x64/.*\.node' "$work/contents" || fail "the tarball carries no prebuilds/linux-x64/*.node"
grep -qx 'dist/cli/main.js' "$work/contents" || fail "the tarball carries no dist/cli/main.js"
if grep -E '^(test|benchmarks|build|build-[^/]*|\.ci)/|\.test\.|^scripts/(fuzz|synthetic|llama-tools|install-check|demo)' "$work/contents"; then
  fail "the tarball carries tests, benchmarks, build folders or development scripts (listed above)"
fi
echo "    $(wc -l <"$work/contents") files, $(du -k "$tarball" | cut -f1) KiB"

echo "::: install into a fresh folder, no compiler on PATH"
bin="$work/bin"
mkdir -p "$bin" "$work/app"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
for tool in python3 python make cc gcc g++ c++ clang cmake; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then fail "$tool is still on the stripped PATH"; fi
done
(
  cd "$work/app"
  export PATH="$bin" npm_config_loglevel=error npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
  unset npm_config_nodedir
  npm init -y >/dev/null
  npm install --prefer-offline "$tarball" >"$work/install.log" 2>&1 || { tail -40 "$work/install.log" >&2; exit 1; }
) || fail "npm install of the tarball failed without a compiler"
pkg="$work/app/node_modules/layerquant"
[[ ! -e "$pkg/build" ]] || fail "the install built the addon ($pkg/build exists)"

echo "::: npx layerquant --version; quantize stories260K"
(
  cd "$work/app"
  export PATH="$bin"
  version="$(npx --no-install layerquant --version)"
  echo "    $version"
  [[ "$version" == *"$(node -p "require('$root/package.json').version")"* ]] || { echo "--version does not print the package version" >&2; exit 1; }
  [[ "$version" == *"prebuilds/linux-x64/"* ]] || { echo "--version does not name the prebuilt binary" >&2; exit 1; }
  npx --no-install layerquant quantize "$model" --bits 8 --levels Q4_0,Q8_0 --method none -o out.gguf >"$work/quantize.log" 2>&1 || { cat "$work/quantize.log" >&2; exit 1; }
  npx --no-install layerquant inspect out.gguf >/dev/null
  last=""; while IFS= read -r line; do last="$line"; done <"$work/quantize.log"  # no coreutils on this PATH
  echo "    $last"
) || fail "the installed package did not run"
echo "::: install-check passed"
