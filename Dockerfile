# Switchyard in a container (docs/operations.md, "Deploying"). Two stages: the build (TypeScript to dist/) with
# the development dependencies, then a runtime image with only the production dependencies and the built host.
#   docker build -t switchyard .
#   docker run -p 8080:8080 -p 9901:9901 -v $PWD/switchyard.json:/etc/switchyard/switchyard.json:ro \
#     -v switchyard-state:/var/lib/switchyard switchyard
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/switchyard
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/host ./dist/host
COPY --from=build /src/dist/sdk ./dist/sdk
COPY --from=build /src/sdk ./sdk
RUN mkdir -p /etc/switchyard /var/lib/switchyard/plugins /var/lib/switchyard/state \
 && chown -R node:node /var/lib/switchyard
USER node
EXPOSE 8080 9901
STOPSIGNAL SIGTERM
# docker stop waits 10 s before SIGKILL: the grace stays under it (or run docker stop -t with more).
CMD ["node", "bin/switchyard.js", "run", "--config", "/etc/switchyard/switchyard.json", "--plugins", "/var/lib/switchyard/plugins", "--state", "/var/lib/switchyard/state", "--grace", "8s"]
