# syntax=docker/dockerfile:1
# Weightsmith image. CPU by default; `--build-arg VARIANT=gpu` adds the WebGPU backend (Dawn over
# Vulkan, see DESIGN.md §5) and, with network access at build time, tfjs-node-gpu.
ARG NODE_VERSION=20
ARG VARIANT=cpu

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
ENV PRISMA_QUERY_ENGINE_LIBRARY=/dev/null PRISMA_SCHEMA_ENGINE_BINARY=/dev/null CHECKPOINT_DISABLE=1
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY bench ./bench
# Keep the generated Prisma client (node_modules/.prisma) across the pruning of dev dependencies.
RUN npm run build \
 && cp -r node_modules/.prisma /tmp/prisma-client \
 && npm prune --omit=dev --omit=optional --ignore-scripts \
 && rm -rf node_modules/.prisma && cp -r /tmp/prisma-client node_modules/.prisma

FROM node:${NODE_VERSION}-bookworm-slim AS runtime-cpu
FROM node:${NODE_VERSION}-bookworm-slim AS runtime-gpu
# Vulkan loader for Dawn; the NVIDIA container toolkit mounts the driver's ICD at run time.
RUN apt-get update && apt-get install -y --no-install-recommends libvulkan1 libglvnd0 libegl1 libgl1 && rm -rf /var/lib/apt/lists/*
RUN npm install --no-save --prefix /opt/gpu webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 \
    && (npm install --no-save --prefix /opt/gpu @tensorflow/tfjs-node-gpu@4.22.0 || echo "tfjs-node-gpu not installed (no network or no CUDA libraries); webgpu remains")
ENV NODE_PATH=/opt/gpu/node_modules

FROM runtime-${VARIANT} AS runtime
WORKDIR /app
ENV NODE_ENV=production PORT=3000 WEIGHTSMITH_DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/package.json ./package.json
RUN mkdir -p /data && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
