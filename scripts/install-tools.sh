#!/usr/bin/env bash
# Installs what a fresh machine lacks: pnpm, the pinned nats-server and nats CLI (built with
# `go install` from the Go module proxy), and Chromium from Debian's packages (the dashboard's
# browser tests drive it with playwright-core, which never downloads a browser). Idempotent: a tool already at the pinned version is kept.
# Binaries go to $JETSCHED_TOOLS_DIR (default ~/.cache/jetsched/tools/<name>-<version>/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools.env
. "$root/tools.env"
tools=${JETSCHED_TOOLS_DIR:-$HOME/.cache/jetsched/tools}
log() { printf '[install-tools] %s\n' "$*" >&2; }

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  log "installing pnpm@$PNPM_VERSION with npm (corepack's signature check fails here)"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

server_dir="$tools/nats-server-$NATS_SERVER_VERSION"
if [ ! -x "$server_dir/nats-server" ]; then
  command -v go >/dev/null 2>&1 || { log "Go is required to build nats-server $NATS_SERVER_VERSION"; exit 1; }
  log "building nats-server $NATS_SERVER_VERSION with go install (about a minute)"
  mkdir -p "$server_dir"
  GOBIN="$server_dir" go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
fi

cli_dir="$tools/natscli-$NATSCLI_VERSION"
if [ ! -x "$cli_dir/nats" ]; then
  command -v go >/dev/null 2>&1 || { log "Go is required to build the nats CLI $NATSCLI_VERSION"; exit 1; }
  log "building the nats CLI $NATSCLI_VERSION with go install"
  # `go install pkg@version` asks the proxy for the module's version list to check deprecation, and
  # the proxy here refuses that list for natscli; installing from inside a module avoids the lookup.
  mod=$(mktemp -d)
  trap 'rm -rf "$mod"' EXIT
  (cd "$mod" && go mod init jetsched-tools >/dev/null 2>&1 \
    && go get "github.com/nats-io/natscli/nats@$NATSCLI_VERSION" >/dev/null 2>&1 \
    && mkdir -p "$cli_dir" && GOBIN="$cli_dir" go install github.com/nats-io/natscli/nats)
fi

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Chromium from Debian's packages (for the dashboard's browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    log "no Chromium at $chromium and no apt-get as root: install chromium (or set CHROMIUM_PATH) for the browser tests"
  fi
fi

log "nats-server: $("$server_dir/nats-server" --version)"
log "nats CLI: $("$cli_dir/nats" --version 2>&1)"
if [ -x "$chromium" ]; then log "chromium: $("$chromium" --version 2>/dev/null)"; fi
