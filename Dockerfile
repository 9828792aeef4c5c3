# syntax=docker/dockerfile:1
# quorumbox node image: qbox-node (the entrypoint) and qboxctl.
#
#   docker build -t quorumbox:dev --build-arg QBOX_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .
#
# The commit (the build context has no .git) goes into `qboxctl --version`
# and, with the version, into the image's OCI labels, so an operator can see
# what a pinned digest holds (docker inspect, or crane config).
# The build stage installs the same Debian packages and runs the same
# configure and build commands as scripts/test.sh (tests/k8s checks that they
# stay the same), so the image holds the binaries the test suite tested.
# The runtime stage has only the shared libraries those binaries load: no
# compiler, no headers, no package lists, no shell tools beyond Debian's base.

FROM debian:bookworm-slim AS build
ARG QBOX_GIT_COMMIT=unknown
WORKDIR /src
# The package list lives in one place: scripts/deps.sh.
COPY scripts/deps.sh scripts/deps.sh
RUN bash -c 'source scripts/deps.sh && qbox_install_deps'
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQBOX_GIT_COMMIT="${QBOX_GIT_COMMIT}" \
 && ninja -C build qbox-node qboxctl \
 && build/ctl/qboxctl --version
# Which Debian packages provide the shared libraries the two binaries load:
# the runtime stage installs exactly those (and nothing that builds code).
RUN mkdir -p /out \
 && install -m 0755 -s build/node/server/qbox-node build/ctl/qboxctl /out/ \
 && for lib in $(ldd /out/qbox-node /out/qboxctl | awk '$3 ~ /^\// {print $3}' | sort -u); do \
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null \
        || dpkg -S "/usr$(readlink -f "$lib")"; \
    done | cut -d: -f1 | sort -u > /out/runtime-packages.txt \
 && cat /out/runtime-packages.txt

FROM debian:bookworm-slim AS runtime
# The version is the project's (CMakeLists.txt; tests/k8s checks they agree).
ARG QBOX_VERSION=0.1.0
ARG QBOX_GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="quorumbox" \
      org.opencontainers.image.version="${QBOX_VERSION}" \
      org.opencontainers.image.revision="${QBOX_GIT_COMMIT}"
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates $(cat /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
COPY --from=build /out/qbox-node /out/qboxctl /usr/local/bin/
# A numeric, non-root user: Kubernetes' runAsNonRoot can only verify a
# numeric UID. The root file system is mounted read-only; the node writes
# only to its data volume (/var/lib/qbox) and /tmp (an emptyDir).
RUN groupadd --system --gid 10001 qbox \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/qbox --no-create-home \
      --shell /usr/sbin/nologin qbox \
 && mkdir -p /var/lib/qbox /etc/qbox/cluster /etc/qbox/tls \
 && chown 10001:10001 /var/lib/qbox
USER 10001:10001
VOLUME ["/var/lib/qbox"]
EXPOSE 7100 9100
ENTRYPOINT ["/usr/local/bin/qbox-node"]
