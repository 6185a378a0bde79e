# Weightsmith CPU image (onnxruntime-node and TF.js wasm/cpu). The GPU variant (WebGPU through
# Dawn/Vulkan) is Dockerfile.gpu, built on top of this image:
#   docker build -t weightsmith:cpu . && docker build -f Dockerfile.gpu -t weightsmith:gpu .
# No `# syntax=` line and no unused stages: the file builds with the classic builder
# (DOCKER_BUILDKIT=0), which builds every stage of a file, and needs no image but the node base.
# Every install step reaches only the npm registry (onnxruntime-node's install script, which
# downloads GPU binaries from another host, does not run).
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's own switch for its GPU download. package.json's
# `allowScripts` already denies that script to an npm that reads the field; the npm of this base
# image runs every install script. The CPU binaries ship in the package.
ENV PRISMA_QUERY_ENGINE_LIBRARY=/dev/null PRISMA_SCHEMA_ENGINE_BINARY=/dev/null \
    CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1 ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
# --omit=optional: the GPU-only optional packages (webgpu, tfjs-backend-webgpu) are not fetched;
# prisma and typescript (dev, and optional peers of @prisma/client) are kept for the build.
RUN npm ci --no-audit --no-fund --omit=optional
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build
# Production node_modules (~560 MB after the prune, ~150-160 MB after this step). Keep the generated
# Prisma client (node_modules/.prisma) across the pruning of dev dependencies, then drop what the
# server never loads:
#  - onnxruntime-node binaries of other platforms: darwin + win32 218 MB, linux of the other arch 25 MB;
#  - @prisma/client's base64-embedded engines for every provider (53 MB): the generated client
#    (engineType "client") loads runtime/client.js and its own query_compiler_bg.wasm;
#  - protobufjs 6's CLI under onnx-proto (19 MB; only protobufjs/minimal is loaded);
#  - packages' source maps (76 MB), TypeScript sources and declarations (19 MB) and markdown
#    (dist/ keeps its own maps: 2 MB, for --enable-source-maps);
#  - the Prisma CLI, its engines and typescript, which the prune already removes (dev, and only
#    optional peers of @prisma/client): removed by name too, in case a lockfile change keeps them.
#    Migrations are applied by the server in-process from prisma/migrations, not by the CLI.
RUN cp -r node_modules/.prisma /tmp/prisma-client \
 && npm prune --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/.prisma && cp -r /tmp/prisma-client node_modules/.prisma \
 && arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v6/linux -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + \
 && test -e "node_modules/onnxruntime-node/bin/napi-v6/linux/$arch/onnxruntime_binding.node" \
 && rm -rf node_modules/prisma node_modules/@prisma/engines node_modules/@prisma/engines-version \
           node_modules/@prisma/fetch-engine node_modules/@prisma/get-platform node_modules/@prisma/config \
           node_modules/effect node_modules/typescript node_modules/.bin/prisma node_modules/.bin/tsc \
           node_modules/.bin/tsserver \
 && rm -f node_modules/@prisma/client/runtime/*wasm-base64* node_modules/@prisma/client/runtime/*.wasm \
 && rm -rf node_modules/onnx-proto/node_modules/protobufjs/cli \
 && find node_modules -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete \
 && find node_modules -type f \( -iname '*.md' -o -iname '*.markdown' \) -delete \
 && rm -rf /tmp/prisma-client

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app
# glibc's allocator gives freed memory back (as scripts/serve.sh sets it for `npm start`).
ENV NODE_ENV=production PORT=3000 WEIGHTSMITH_DATA_DIR=/data \
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/package.json ./package.json
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
