# syntax=docker/dockerfile:1.7
# nodecred image: the installer (apply init container + sync main container) and the static
# provider executables it installs on nodes. Multi-arch ready:
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/nodecred:0.1.0 --push .
# The build stage runs once on the build machine's platform and produces both providers (amd64
# natively, arm64 with Debian's cross compiler), exactly as CI does (`npm ci && npm run build`).

ARG DEBIAN_IMAGE=debian:12.12-slim
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM --platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS build
# Node.js only to run npm; the project brings its own Node 24 through npm (the `node` package).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
      dpkg-dev gcc libc6-dev xz-utils file gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
      binutils-aarch64-linux-gnu \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY scripts/build.sh scripts/build-provider.sh scripts/build-installer.sh scripts/
COPY provider/ provider/
COPY installer/ installer/
RUN npm run build

# Node, its libraries and busybox for the target platform, assembled into /rootfs by the same
# script as scripts/build-image.sh (the image without a Docker engine): Node stripped, only what
# runs. The official Node image is only the source of the node binary (the same release as the
# project's npm `node` package) and of the libraries it links.
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils busybox-static file \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/image-runtime.sh /src/scripts/
RUN bash /src/scripts/image-runtime.sh /rootfs /usr/local/bin/node

FROM scratch
COPY --from=runtime /rootfs/ /
# The files of `npm run build` the image runs; scripts/build-image.sh reads this list. Two installer
# bundles: every command (the entrypoint, the apply init container) and `run` only (the sync
# container, which then loads none of apply's modules; scripts/build-installer.sh).
COPY --from=build /src/dist/installer/nodecred-installer.mjs /opt/nodecred/nodecred-installer.mjs
COPY --from=build /src/dist/installer/nodecred-sync.mjs /opt/nodecred/nodecred-sync.mjs
COPY --from=build /src/dist/bin/nodecred-provider-linux-amd64 /opt/nodecred/bin/nodecred-provider-linux-amd64
COPY --from=build /src/dist/bin/nodecred-provider-linux-arm64 /opt/nodecred/bin/nodecred-provider-linux-arm64
COPY --from=build /src/dist/bin/nodecred-provider-linux-amd64.sha256 /opt/nodecred/bin/nodecred-provider-linux-amd64.sha256
COPY --from=build /src/dist/bin/nodecred-provider-linux-arm64.sha256 /opt/nodecred/bin/nodecred-provider-linux-arm64.sha256
USER 0
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["node", "/opt/nodecred/nodecred-installer.mjs"]
