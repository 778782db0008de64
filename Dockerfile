# sluice's container image: a static binary on a distroless base, running as
# a non-root user. Build from the repository root:
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) -t sluice .
#
# The go build line must stay the Makefile's `build` line (test/chart checks
# that they agree), so that the image holds the binary CI tests.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: the download layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/sluice ./cmd/sluice

# No shell, no package manager, no libc: only the binary, CA certificates and
# a passwd entry for the non-root user 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sluice /sluice
USER 65532:65532
# HTTP, HTTPS, and /metrics, /healthz, /readyz: all above 1023, so the
# container binds them without any capability.
EXPOSE 8080 8443 10254
ENTRYPOINT ["/sluice"]
CMD ["controller"]
