# One image for every jetsched role: `docker run jetsched coordinator|scheduler|executor ...`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.20.0
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json tsconfig.json tools.env ./
COPY patches ./patches
COPY packages ./packages
# `pnpm prune --prod` breaks workspace links; a production install keeps them and drops dev tools
RUN pnpm install --frozen-lockfile && pnpm build && CI=true pnpm install --frozen-lockfile --prod

FROM node:20-bookworm-slim
# time zones for logs and for operators reading schedules in local time (Node's own ICU data
# checks the zone names of cron schedules; the nats-server image carries its own, deploy/nats)
RUN apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
ENTRYPOINT ["node", "packages/cli/dist/bin.js"]
CMD ["--help"]
