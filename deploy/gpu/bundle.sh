#!/usr/bin/env bash
# Packs what deploy/gpu/check.sh runs on a GPU machine that has CUDA 13 but no .NET, no zstd and no package registry:
# the server and the bench (with the exporter) published with the GPU ONNX Runtime package, the .NET runtime and ICU,
# compressed and split into parts that each fit one device call (at most 64 MiB carried per call, the ~8 MB checkout
# included). Run from the repository root: deploy/gpu/bundle.sh [part MiB, default 52]
# Writes .gpu/ (git-ignored): c0/p0 … cN/pN (one folder per call), and z/ (zstd, the parts' checksums) to carry with
# the first part. The project's own obj/ and bin/ are left alone (the publish builds under a temporary folder).
set -euo pipefail
part_mib=${1:-52}
[ -f Qwen.Server.sln ] || { echo "run from the repository root" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

for project in src/Qwen.Server/Qwen.Server.csproj bench/Qwen.Bench/Qwen.Bench.csproj; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained false --artifacts-path "$work/build" -o "$work/pack/app" \
    -p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.Gpu.Linux --nologo -v q
done
# Debug symbols and docs are not needed there; TensorRT is not used (and is the second-largest library).
rm -f "$work"/pack/app/*.pdb "$work"/pack/app/*.xml "$work"/pack/app/libonnxruntime_providers_tensorrt.so
[ -f "$work/pack/app/libonnxruntime_providers_cuda.so" ] || { echo "the publish has no CUDA provider library" >&2; exit 1; }

# The .NET runtime the apps were built for (host, NETCore and AspNetCore shared frameworks), and the ICU the tokenizer needs.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
mkdir -p "$work/pack/dotnet/shared" "$work/pack/icu"
cp -r "$dotnet_root/dotnet" "$dotnet_root/host" "$work/pack/dotnet/"
cp -r "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$work/pack/dotnet/shared/"
for lib in libicuuc libicui18n libicudata; do cp -L /usr/lib/x86_64-linux-gnu/$lib.so.[0-9][0-9] "$work/pack/icu/"; done

rm -rf .gpu && mkdir -p .gpu/z
echo "compressing $(du -sm "$work/pack" | cut -f1) MiB (zstd -19, a few minutes on 2 cores)"
(cd "$work/pack" && tar c app dotnet icu | zstd -q -T0 -19 --long=31 -c > "$work/bundle.tar.zst")
split -b "${part_mib}M" -d -a 1 "$work/bundle.tar.zst" "$work/p"
for f in "$work"/p[0-9]; do n=${f##*/p}; mkdir -p .gpu/c$n; mv "$f" .gpu/c$n/p$n; done
(cd .gpu && sha256sum c*/p* > z/SHA256SUMS)
# zstd for the unpacking; its shared libraries too if this build links them (Debian's links libzstd statically).
cp "$(command -v zstd)" .gpu/z/
ldd "$(command -v zstd)" | awk '/libzstd/ {print $3}' | xargs -r -I{} cp -L {} .gpu/z/
du -b .gpu/c*/p* | awk '{printf "%s %.1f MiB\n", $2, $1 / 1048576}'
echo "$(ls -d .gpu/c[0-9] | wc -l) parts; the device calls are in deploy/gpu/README.md"
