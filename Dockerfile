# The workers' image (docker-compose.yml's `workers` profile; also a base for EC2 or ECS).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY lib lib
COPY activities activities
COPY workflows workflows
COPY workers workers
COPY local-aws local-aws
COPY dashboard dashboard
COPY scripts/dashboard.ts scripts/cli.ts scripts/
USER node
CMD ["node", "--import", "tsx", "workers/ingest.ts"]
