# Family Help: a static binary on a minimal, non-root image.
# Assets and templates are embedded, so the image needs nothing but the binary.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/familyhelp ./cmd/familyhelp \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/familyhelp /familyhelp
# The data dir holds the SQLite file, the Bleve index and the generated key; mount a volume
# here (or set DATABASE_URL / MEILI_URL for PostgreSQL and Meilisearch).
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV FAMILYHELP_ADDR=:8080 FAMILYHELP_DATA_DIR=/data
USER nonroot:nonroot
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/familyhelp"]
CMD ["serve"]
