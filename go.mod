module github.com/wxanalysis/wxanalysis

go 1.26.0

require (
	github.com/go-viper/mapstructure/v2 v2.5.0
	github.com/stretchr/testify v1.12.1
	github.com/tencentyun/scf-go-lib v0.0.0-20211123032342-f972dcd16ff6
)

require (
	github.com/go-sql-driver/mysql v1.10.2
	github.com/lib/pq v1.12.3
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.5
	google.golang.org/protobuf v1.36.12
	modernc.org/sqlite v1.62.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/sys v0.49.0 // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
)
