# WeChat Cloud Run (微信云托管) image: the function as a plain HTTP server on PORT.
# Build stage: the same flags as `make build`.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags="-s -w" -o /out/main .

# Final stage: the static binary, CA certificates for HTTPS, and a user that is not root.
FROM alpine:3.20
RUN apk add --no-cache ca-certificates && adduser -D -H -u 10001 wxanalysis
COPY --from=build /out/main /app/main
USER 10001
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/app/main"]
