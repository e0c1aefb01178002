# nntpd: the alt.crypt.messages news server (the image also holds the
# mail gateway, /usr/local/bin/gateway; docker-compose.yml runs it).
#   docker build -t altcrypt/nntpd .
#   docker run -p 119:1119 -v news:/data altcrypt/nntpd      # embedded store in /data
# Configuration comes from ALTCRYPT_<FLAG> variables (see `nntpd -h`).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (modernc.org/sqlite): no cgo, a static binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/nntpd ./cmd/gateway \
	&& mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nntpd /out/gateway /usr/local/bin/
# The embedded store's directory, owned by the non-root user (65532).
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
# Unprivileged ports inside; map 119 and 563 to them.
ENV ALTCRYPT_LISTEN=0.0.0.0:1119 \
	ALTCRYPT_DB=sqlite:/data/altcrypt.db
EXPOSE 1119 1563
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/nntpd"]
