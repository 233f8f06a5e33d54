#!/usr/bin/env bash
# Starts or stops a 4-validator network of separate ogpud processes on 127.0.0.1-4: every node
# with its sidecar embedded as the verifier of its validator, and a provider-only sidecar beside
# nodes 0 and 1 (127.0.0.1:8548 and 127.0.0.2:8548).
#   localnet.sh start BINARY DIR   writes the homes on first use, then starts every process
#   localnet.sh stop  BINARY DIR   stops every process of DIR
set -euo pipefail
action=$1 bin=$(realpath "$2") dir=$3
n=${LOCALNET_VALIDATORS:-4}

case $action in
start)
  if [ ! -d "$dir/node0" ]; then
    "$bin" testnet init-files --v "$n" --output-dir "$dir"
  fi
  for home in "$dir"/node*/; do
    home=${home%/}
    if [ -f "$home.pid" ] && kill -0 "$(cat "$home.pid")" 2>/dev/null; then
      echo "$(basename "$home") already running (pid $(cat "$home.pid"))"
      continue
    fi
    "$bin" start --home "$home" --sidecar.embedded >"$home.log" 2>&1 &
    echo $! >"$home.pid"
    echo "$(basename "$home") started (pid $!), log $home.log"
  done
  for i in 0 1; do
    home=$dir/node$i side=$dir/provider$i
    [ -d "$home" ] || continue
    if [ -f "$side.pid" ] && kill -0 "$(cat "$side.pid")" 2>/dev/null; then
      continue
    fi
    "$bin" sidecar --home "$home" --provider-key provider --validator-account "" >"$side.log" 2>&1 &
    echo $! >"$side.pid"
    echo "provider$i sidecar started (pid $!), log $side.log"
  done
  echo "RPC: http://127.0.0.1:26657 … http://127.0.0.$n:26657; stop with: make localnet-stop"
  ;;
stop)
  for pidfile in "$dir"/provider*.pid "$dir"/node*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "$(basename "$pidfile" .pid) stopped"
    fi
    rm -f "$pidfile"
  done
  ;;
*)
  echo "usage: $0 start|stop BINARY DIR" >&2
  exit 2
  ;;
esac
