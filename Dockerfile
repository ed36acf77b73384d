# shardns container image: multi-stage build, runtime holds production dependencies and compiled output only.
#
#   docker build -t shardns .
#   docker run -d --name shardns -p 53:53/udp -p 53:53/tcp shardns
#   docker run -d --name shardns --network host shardns       # the host's resolver, on the host's port 53
#   podman build --format docker -t shardns .      # docker format keeps HEALTHCHECK
#
# Who runs it: the image starts as root, which binds port 53 (in the container's own network
# or the host's) and then drops to the user shardns (uid 10053) before it reads a zone or
# answers a query: supervisor, zone builder and workers all run as 10053, with no capability
# left. To start it as 10053 directly (Kubernetes' runAsNonRoot, compose's user:, --user), the
# runtime must let a non-root user bind port 53: net.ipv4.ip_unprivileged_port_start, which
# Docker (20.10 and later) and containerd 2 set to 0 for a container with its own network;
# podman needs --sysctl (or --cap-add NET_BIND_SERVICE). See README, "Container".

# Any Node.js LTS image (Debian based; glibc for koffi's prebuilt binary). Node 20 is the oldest
# the code supports (engines: >=20.19) but reached end of life on 2026-04-30.
ARG BASE_IMAGE=node:24-trixie-slim

# ---- build: dev dependencies, TypeScript → dist/
FROM ${BASE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own "prepare" (tsc) needs the sources copied below, and
# koffi runs without its install script (the prebuilt binary is an optional dependency).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
RUN npm run build

# ---- deps: production dependencies only
FROM ${BASE_IMAGE} AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="shardns" \
      org.opencontainers.image.description="DNS server: one SO_REUSEPORT socket per worker process, the kernel spreads the queries" \
      org.opencontainers.image.licenses="MIT"
# The user the server drops to (its default when started as root): a fixed numeric uid, so
# Kubernetes can run the image as it (runAsUser: 10053, runAsNonRoot); no home, no shell.
RUN echo 'shardns:x:10053:10053:shardns DNS server:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'shardns:x:10053:' >> /etc/group
WORKDIR /opt/shardns
COPY package.json ./
COPY bin ./bin
COPY --from=deps /deps/node_modules ./node_modules
COPY --from=build /build/dist ./dist
# The shipped configuration and zones; mount a volume on /etc/shardns (or on a file in it) to replace them.
COPY config/ /etc/shardns/
# Relative --zone paths on the command line resolve against the working directory.
WORKDIR /etc/shardns
# Compiled zone images (--state-dir). A non-root user's default is $XDG_STATE_HOME/shardns, so
# this makes it /var/lib/shardns (root's default too), owned by the image's user. A volume: the
# folder stays writable with a read-only root file system, and the images outlive the container
# (a restart with unchanged zones maps them instead of parsing).
# (node, not install/chown: the base image needs nothing beyond node and sh.)
RUN node -e "const fs = require('node:fs'); fs.mkdirSync('/var/lib/shardns', { recursive: true }); fs.chownSync('/var/lib/shardns', 10053, 10053); fs.chmodSync('/var/lib/shardns', 0o750)"
ENV XDG_STATE_HOME=/var/lib
VOLUME ["/var/lib/shardns"]
# Root only to bind: shardns then drops to its default user, shardns (10053), before anything else;
# the health check's probe drops to it too. Run as 10053 directly with the runtime's --user.
USER 0:0
EXPOSE 53/udp 53/tcp
# SIGTERM: the supervisor stops the workers, they finish what they hold (shutdown-timeout, 5 s), exit 0.
STOPSIGNAL SIGTERM
# A real DNS query (CH TXT id.server) over UDP to the server's loopback address; exit 0 on NOERROR.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/opt/shardns/bin/shardns.js", "probe", "--server", "127.0.0.1", "--port", "53", "--name", "id.server.", "--class", "CH", "--type", "TXT", "--timeout", "2"]
# Arguments after the image name are shardns arguments: `… shardns --workers 4`, `… shardns check`.
ENTRYPOINT ["node", "/opt/shardns/bin/shardns.js", "--config", "/etc/shardns/container.json"]
CMD ["serve"]
