#!/usr/bin/env bash
# Starts or stops a 4-validator network of separate ogpud processes on 127.0.0.1-4.
#   localnet.sh start BINARY DIR   writes the homes on first use, then starts every node
#   localnet.sh stop  BINARY DIR   stops every node of DIR
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
    "$bin" start --home "$home" >"$home.log" 2>&1 &
    echo $! >"$home.pid"
    echo "$(basename "$home") started (pid $!), log $home.log"
  done
  echo "RPC: http://127.0.0.1:26657 … http://127.0.0.$n:26657; stop with: make localnet-stop"
  ;;
stop)
  for pidfile in "$dir"/node*.pid; do
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
