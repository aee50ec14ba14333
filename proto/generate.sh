#!/usr/bin/env bash
# Lints, formats and generates the gRPC contract (proto/lienthong/v1) with Buf and local
# plugins at pinned versions, so generation needs no network service beyond the Go module proxy
# (and none once the modules are cached).
#
#   bash proto/generate.sh           lint, format and regenerate the Go code beside the .proto files
#   bash proto/generate.sh --check   the same, then fail if anything under proto/ changed
#                                    (CI: the committed generated code must be up to date)
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned versions: change them here only, then run this script and commit the result.
BUF=github.com/bufbuild/buf/cmd/buf@v1.75.0
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: bash proto/generate.sh [--check]" >&2; exit 2 ;;
esac

# The plugins go into a private GOBIN put first on PATH, so no other protoc-gen-go is used.
gobin=$(mktemp -d "${TMPDIR:-/tmp}/lienthong-protoc-gen.XXXXXX")
trap 'rm -rf "$gobin"' EXIT
GOBIN="$gobin" go install "$PROTOC_GEN_GO"
GOBIN="$gobin" go install "$PROTOC_GEN_GO_GRPC"
export PATH="$gobin:$PATH"

buf() { go run "$BUF" "$@"; }

echo "proto: buf lint"
buf lint
if $check; then
  echo "proto: buf format (check)"
  if ! buf format --diff --exit-code; then
    echo "proto: .proto files are not formatted: run bash proto/generate.sh and commit" >&2
    exit 1
  fi
else
  buf format --write
fi
echo "proto: buf generate"
buf generate

if $check; then
  changed=$(git status --porcelain --untracked-files=all -- proto)
  if [ -n "$changed" ] || ! git diff --exit-code --stat -- proto >/dev/null; then
    echo "proto: the generated code is not up to date (or proto/ has uncommitted changes):" >&2
    echo "$changed" >&2
    git --no-pager diff --stat -- proto >&2
    echo "proto: run bash proto/generate.sh and commit proto/" >&2
    exit 1
  fi
  echo "proto: generated code is up to date"
fi
