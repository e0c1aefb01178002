# nntpd: the alt.crypt.messages news server (the image also holds the
# mail gateway, /usr/local/bin/gateway; docker-compose.yml runs it).
#
# The image is built FROM scratch out of binaries built on this machine,
# so building it pulls nothing from any image registry:
#   scripts/docker-build            # CGO_ENABLED=0 go build into dist/, then docker build
#   docker run -p 119:1119 -v news:/data altcrypt/nntpd      # embedded store in /data
# Configuration comes from ALTCRYPT_<FLAG> variables (see `nntpd -h`).
#
# TLS: the server runs as uid 65532. A key readable only by root (mode
# 0600, owner 0) cannot be opened and nntpd stops with "--tls-key: open
# ...: permission denied", and a restart policy loops on it: give the key
# to that uid (chown 65532 privkey.pem; chmod 0400) or to its group
# (chgrp 65532 privkey.pem; chmod 0440).

FROM scratch
# Static binaries (pure Go, modernc.org/sqlite) and the CA bundle feeds to
# TLS peers verify against; scripts/docker-build puts them in dist/.
COPY dist/nntpd dist/gateway /usr/local/bin/
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The embedded store's directory, owned by the non-root user (65532).
COPY --chown=65532:65532 dist/data /data
WORKDIR /data
USER 65532:65532
# Unprivileged ports inside; map 119 and 563 to them.
ENV ALTCRYPT_LISTEN=0.0.0.0:1119 \
	ALTCRYPT_DB=sqlite:/data/altcrypt.db
EXPOSE 1119 1563
VOLUME ["/data"]
# A greeting on the NNTP port means healthy (no shell in the image).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
	CMD ["/usr/local/bin/nntpd", "--probe"]
ENTRYPOINT ["/usr/local/bin/nntpd"]
