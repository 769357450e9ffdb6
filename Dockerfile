# Qwen.Server image. CPU (default) or CUDA:
#   docker build -t qwen-server .                                   # CPU, ONNX Runtime CPU package
#   docker build -t qwen-server:cuda --build-arg VARIANT=cuda .     # CUDA 13 + cuDNN 9, ONNX Runtime GPU package
# The model is mounted, never baked in:  docker run -p 8000:8000 -v /path/to/exported:/models/qwen qwen-server
# Or the demo model, no model needed:     docker run -p 8000:8000 -e QWEN_MODEL=demo -v qwen-cache:/cache qwen-server
#   (random weights with the real tokenizer and template, built into /cache on first start; docker compose up does this)
# Or a Hugging Face repo id:              docker run -p 8000:8000 -e QWEN_MODEL=Qwen/Qwen2.5-0.5B-Instruct -v qwen-cache:/cache qwen-server
#   (downloaded into /cache/huggingface and exported into /cache on first start, reused after; HF_TOKEN for gated repos)
ARG VARIANT=cpu
# The GPU package pinned in Directory.Packages.props decides the CUDA major: 1.32.0's libonnxruntime_providers_cuda.so
# links libcudart.so.13, libcublas.so.13 and libcublasLt.so.13 (built with nvcc 13.0) and loads cuDNN (9, per ONNX
# Runtime's CUDA requirements) at run time, so a CUDA 12 base builds but cannot load the CUDA provider. The host needs an
# NVIDIA driver for CUDA 13 (R580 or newer). Pick another CUDA 13 base with --build-arg CUDA_IMAGE=...; the default's
# CUDA major is checked against the provider's by tests/Qwen.Server.Tests/Deploy/CudaImageTests.cs.
ARG CUDA_IMAGE=nvidia/cuda:13.0.3-cudnn-runtime-ubuntu24.04

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG VARIANT
WORKDIR /src
COPY . .
RUN if [ "$VARIANT" = "cuda" ]; then PKG=Microsoft.ML.OnnxRuntime.Gpu.Linux; else PKG=Microsoft.ML.OnnxRuntime; fi \
 && sh deploy/publish.sh /app "$PKG"

# ICU is required (the tokenizer's NFC normalization; never invariant): install whichever libicuNN the distribution ships,
# plus curl for the HEALTHCHECK and ca-certificates for downloads from the Hugging Face Hub (HTTPS).
# CPU runtime: ASP.NET Core (Ubuntu based).
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime-cpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates $(apt-cache search --names-only '^libicu[0-9]+$' | cut -d' ' -f1) \
 && rm -rf /var/lib/apt/lists/*
# The engine moves the weights into transparent huge pages itself (QWEN_HUGE_PAGES, on by default; the host's THP in
# madvise or always mode), so no malloc tunable is needed here.
ENV QWEN_EXECUTION_PROVIDER=cpu

# CUDA runtime: NVIDIA's CUDA + cuDNN runtime with the ASP.NET Core runtime copied in.
FROM ${CUDA_IMAGE} AS runtime-cuda
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates $(apt-cache search --names-only '^libicu[0-9]+$' | cut -d' ' -f1) \
 && rm -rf /var/lib/apt/lists/*
COPY --from=mcr.microsoft.com/dotnet/aspnet:10.0 /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV QWEN_EXECUTION_PROVIDER=cuda

FROM runtime-${VARIANT} AS final
WORKDIR /app
COPY --from=build /app .
# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it (deploy/k8s/deployment.yaml uses the same id).
RUN groupadd --gid 10001 qwen && useradd --uid 10001 --gid 10001 --home /home/qwen --create-home qwen \
 && mkdir -p /models /cache && chown qwen:qwen /models /cache
USER 10001:10001
# QWEN_MODEL stays the mounted model (Kubernetes relies on it); QWEN_MODEL=demo switches to the demo without a rebuild,
# since the publish output carries the exporter and its bundled tokenizer assets (assets/qwen2.5), and QWEN_MODEL=org/name
# to a Hugging Face repo, whose download lands on the /cache volume (HF_HOME) beside its export.
ENV ASPNETCORE_URLS=http://+:8000 \
    QWEN_MODEL=/models/qwen \
    QWEN_MODEL_CACHE_DIR=/cache \
    HF_HOME=/cache/huggingface \
    QWEN_JSON_LOGS=true \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=0
VOLUME ["/models", "/cache"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 CMD curl -fsS http://localhost:8000/health/ready || exit 1
ENTRYPOINT ["dotnet", "Qwen.Server.dll"]
