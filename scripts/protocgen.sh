#!/usr/bin/env bash
# Generates the gogoproto Go code for proto/ogpu/**. The generated files are committed, so a
# build never needs protoc. Needs: protoc, protoc-gen-gocosmos, protoc-gen-grpc-gateway (v1).
set -euo pipefail
cd "$(dirname "$0")/.."

modpath() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)",/\1/p'; }
SDK=$(modpath github.com/cosmos/cosmos-sdk)
GOGO=$(modpath github.com/cosmos/gogoproto)
CPROTO=$(modpath github.com/cosmos/cosmos-proto)
GW=$(go env GOMODCACHE)/github.com/grpc-ecosystem/grpc-gateway@v1.16.0

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for dir in $(find proto -name '*.proto' -exec dirname {} \; | sort -u); do
  protoc -I proto -I "$SDK/proto" -I "$GOGO" -I "$CPROTO/proto" -I "$GW/third_party/googleapis" \
    --gocosmos_out=plugins=grpc,Mgoogle/protobuf/any.proto=github.com/cosmos/gogoproto/types/any:"$out" \
    --grpc-gateway_out=logtostderr=true,allow_colon_final_segments=true:"$out" \
    "$dir"/*.proto
done
cp -r "$out"/github.com/opengpu/ogpu/* .
