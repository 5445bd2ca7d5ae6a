# Container image of modelserver (gRPC + Open Inference Protocol REST +
# Prometheus metrics) and its client modelctl. Build and run: deploy/README.md.
#
#   docker build -t modelserver .                      (or: podman build --format docker ...)
#   docker run -p 50051:50051 -p 8080:8080 -p 9464:9464 -v models:/var/lib/modelserver/models modelserver
#
# Build arguments:
#   MODELSERVER_MARCH  -march of the binaries (default x86-64-v2: runs on any
#                      x86-64 CPU of the last ~15 years; x86-64-v3 is faster
#                      (AVX2) where every host has it; "" = compiler default)
#   VERSION, REVISION, SOURCE  recorded in the OCI labels (SOURCE: URL of the
#                      repository; the project names none yet, so it is empty
#                      unless given, e.g. --build-arg SOURCE=$(git remote get-url origin))

# ---- build stage: Debian 12 toolchain and -dev packages --------------------
FROM debian:bookworm AS build
# setup.sh alone first, so that the package layer is reused while the
# sources change. ccache (with a build cache mount, below) makes a rebuild
# after a source change recompile only what changed.
COPY scripts/setup.sh /src/scripts/setup.sh
RUN bash /src/scripts/setup.sh --build-only \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ccache \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
ARG MODELSERVER_MARCH=x86-64-v2
# Only the two shipped targets are built (no tests, benchmarks or tools).
# Warnings are not errors here: CI's build (scripts/test.sh) enforces them;
# the image should not fail to build on a warning of one -march.
# RUN --mount needs BuildKit (docker's default builder since 23.0) or podman.
RUN --mount=type=cache,id=modelserver-ccache,target=/root/.cache/ccache \
    export CCACHE_DIR=/root/.cache/ccache CCACHE_MAXSIZE=2G \
 && ccache --zero-stats >/dev/null \
 && cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DMODELSERVER_MARCH="${MODELSERVER_MARCH}" \
      -DMODELSERVER_BUILD_TESTS=OFF -DMODELSERVER_WERROR=OFF \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
 && cmake --build /build --parallel "$(nproc)" --target modelserver modelctl \
 && ccache --show-stats \
 && install -D -s -m 0755 /build/server/modelserver /out/modelserver \
 && install -D -s -m 0755 /build/client/modelctl /out/modelctl \
 && install -D -s -m 0644 /build/server/openssl_shim/libssl.so /out/lib/libssl.so \
 && install -D -s -m 0644 /build/server/openssl_shim/libcrypto.so /out/lib/libcrypto.so \
 && rm -rf /build

# ---- runtime stage: shared libraries only ----------------------------------
FROM debian:bookworm-slim
# The runtime libraries of modelserver and modelctl (ldd of both binaries
# mapped to Debian packages; deploy/image_test.sh checks nothing is missing).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libre2-9 libc-ares2 \
      libssl3 zlib1g libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcivetweb1 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*

# Fixed uid/gid 10001 so that volumes and Kubernetes runAsUser can match it.
RUN groupadd --system --gid 10001 modelserver \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/modelserver \
      --no-create-home --shell /usr/sbin/nologin modelserver \
 && mkdir -p /var/lib/modelserver/models \
 && chown -R 10001:10001 /var/lib/modelserver

COPY --from=build /out/modelserver /out/modelctl /usr/local/bin/
# civetweb's HTTPS with OpenSSL 3 (server/openssl_shim/libssl_shim.c);
# modelserver's RUNPATH lists /usr/local/lib/modelserver.
COPY --from=build /out/lib/ /usr/local/lib/modelserver/

# Every flag --foo-bar of modelserver can be given as MODELSERVER_FOO_BAR;
# a flag on the command line (docker run IMAGE --flag ...) wins.
ENV MODELSERVER_LISTEN=0.0.0.0:50051 \
    MODELSERVER_HTTP_LISTEN=0.0.0.0:8080 \
    MODELSERVER_METRICS_LISTEN=0.0.0.0:9464 \
    MODELSERVER_MODEL_DIR=/var/lib/modelserver/models
# gRPC (ModelService, inference.GRPCInferenceService, health, reflection),
# Open Inference Protocol REST, Prometheus /metrics.
EXPOSE 50051 8080 9464
WORKDIR /var/lib/modelserver
VOLUME /var/lib/modelserver/models
USER 10001:10001
# grpc.health.v1 SERVING (NOT_SERVING while draining on SIGTERM).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/modelctl", "--server", "127.0.0.1:50051", "health"]
# SIGTERM: graceful shutdown (drains for --drain-seconds), exit status 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/modelserver"]

# Last, so that a new REVISION only rebuilds this metadata.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="modelserver" \
      org.opencontainers.image.description="Train, evaluate and serve tabular machine-learning models over gRPC (ModelService, Open Inference Protocol / KServe V2 over gRPC and REST), with Prometheus metrics; includes the modelctl client" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
