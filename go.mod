module github.com/wxanalysis/wxanalysis

go 1.26.0

require (
	github.com/go-viper/mapstructure/v2 v2.5.0
	github.com/stretchr/testify v1.12.1
	github.com/tencentyun/scf-go-lib v0.0.0-20211123032342-f972dcd16ff6
)

require (
	github.com/redis/go-redis/v9 v9.23.0
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.5
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
