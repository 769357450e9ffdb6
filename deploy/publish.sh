#!/usr/bin/env sh
# The one publish command: the Dockerfile runs it, and tests/Qwen.Server.Tests/Deploy runs it too, so they cannot drift.
# usage: deploy/publish.sh <output-dir> [onnxruntime-package]
set -eu
out="$1"
package="${2:-Microsoft.ML.OnnxRuntime}"
dotnet publish src/Qwen.Server/Qwen.Server.csproj -c Release -o "$out" -p:OnnxRuntimePackage="$package" --nologo
