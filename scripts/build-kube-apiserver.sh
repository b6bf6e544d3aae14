#!/usr/bin/env bash
# Build kube-apiserver VERSION into OUT from the Go module proxy.
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@vX` is refused: kubernetes'
# go.mod replaces its staging repositories with ./staging, and requires them at
# v0.0.0. A throwaway module that requires k8s.io/kubernetes and replaces each
# of those v0.0.0 requirements with the published v0.<minor>.<patch> builds the
# same binary. The replace list is read from kubernetes' own go.mod, so a new
# VERSION needs no edit here.
set -euo pipefail

version=${1:?usage: build-kube-apiserver.sh VERSION OUT}
out=${2:?usage: build-kube-apiserver.sh VERSION OUT}
staging=v0.${version#*.}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
go mod init winpod-guard-kube-apiserver >/dev/null 2>&1
gomod=$(go mod download -json "k8s.io/kubernetes@v$version" | python3 -c 'import json, sys; print(json.load(sys.stdin)["GoMod"])')
go mod edit -require="k8s.io/kubernetes@v$version"
staged=$(go mod edit -json "$gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["Require"]:
    if r["Version"] == "v0.0.0" and r["Path"].startswith("k8s.io/"):
        print(r["Path"])')
for module in $staged; do
  go mod edit -replace="$module=$module@$staging"
done
printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
go mod tidy
# Clients parse the version the server reports; unset, it is v0.0.0-master.
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
flags=""
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=" -X $package.gitVersion=v$version -X $package.gitMajor=$major -X $package.gitMinor=$minor"
done
CGO_ENABLED=0 go build -ldflags "${flags# }" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver
