# One image for every app; the command picks it (the names of package.json's "bin"):
#   jobworkerp-all-in-one (the default), jobworkerp-grpc-front, jobworkerp-worker, jobworkerp-client,
#   jobworkerp-healthcheck. Migrations run at every start; the example plugins are in /app/plugins.
# Build: docker build -t jobworkerp-ts:0.1.0 .

# --- build: compile TypeScript and better-sqlite3's addon, then drop the dev dependencies ---
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --strict-allow-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY libs libs
COPY apps apps
COPY plugins plugins
COPY scripts/check-sqlite.mjs scripts/copy-lua.mjs scripts/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node scripts/check-sqlite.mjs

# --- runtime: compiled JavaScript, production dependencies, migrations; no sources, no compilers ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    GRPC_ADDR=0.0.0.0:9000 \
    SQLITE_URL=/app/data/jobworkerp.sqlite3
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist/apps dist/apps
COPY --from=build /src/dist/libs dist/libs
COPY migrations migrations
COPY plugins plugins
# each "bin" of package.json becomes a command on PATH; /app/data is the SQLite volume, owned by the app's user
RUN node -e "const fs = require('fs'); for (const [name, file] of Object.entries(require('./package.json').bin)) { fs.chmodSync(file, 0o755); fs.symlinkSync('/app/' + file, '/usr/local/bin/' + name); }" \
 && mkdir -p /app/data \
 && chown node:node /app/data
USER node
EXPOSE 9000
VOLUME ["/app/data"]
# no argument: the HTTP endpoint when HEALTH_ADDR is set (a worker), else grpc.health.v1 at GRPC_ADDR's port;
# either answers NOT_SERVING while Redis or the database is down
HEALTHCHECK --interval=15s --timeout=6s --start-period=30s --retries=3 CMD ["jobworkerp-healthcheck"]
CMD ["jobworkerp-all-in-one"]
