# augchatd: build the UI, build the release binary, run it as a non-root user in a slim image.

FROM node:20-bookworm-slim AS ui
WORKDIR /src/web
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=ui /src/static ./static
RUN cargo build --release --locked --bin augchatd

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/augchatd --create-home augchatd
COPY --from=build /src/target/release/augchatd /usr/local/bin/augchatd
USER augchatd
WORKDIR /var/lib/augchatd
ENV AUGCHATD_DATA_DIR=/var/lib/augchatd/data
EXPOSE 8080
ENTRYPOINT ["augchatd"]
