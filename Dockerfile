# Untested (no Docker engine on the development machines; see README).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin standings

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 standings
COPY --from=build /src/target/release/standings /usr/local/bin/standings
USER standings
EXPOSE 8000
ENV BIND=0.0.0.0:8000
CMD ["standings", "serve"]
