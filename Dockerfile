# syntax=docker/dockerfile:1
# Family Help: a static binary on a minimal, non-root image.
# Templates, assets, postcode data and time zones are embedded, so the image needs nothing but
# the binary and the CA certificates that distroless/static already has (for SMTP over TLS,
# PostgreSQL with sslmode=verify-full, and Meilisearch over https).
#
#   docker build -t familyhelp .
#   docker run -p 8080:8080 -v familyhelp-data:/data familyhelp

# The compiler runs on the builder's own platform and cross-compiles (no cgo: the SQLite driver
# is pure Go), so a multi-platform build (`docker buildx build --platform linux/amd64,linux/arm64`)
# needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/familyhelp ./cmd/familyhelp \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/familyhelp /familyhelp
# The data dir holds the SQLite file, the Bleve index and a generated secret key when those are
# used; mount a volume here. With DATABASE_URL, MEILI_URL and FAMILYHELP_SECRET_KEY set it stays
# empty and the container keeps no state.
COPY --from=build --chown=65532:65532 /out/data /data
ENV FAMILYHELP_ADDR=:8080 FAMILYHELP_DATA_DIR=/data
# distroless's "nonroot" user, by number so that a runtime can check it is not root.
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/familyhelp"]
CMD ["serve"]
