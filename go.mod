module github.com/wxanalysis/wxanalysis

go 1.26.0

require (
	github.com/go-viper/mapstructure/v2 v2.5.0
	github.com/stretchr/testify v1.12.1
	github.com/tencentyun/scf-go-lib v0.0.0-20211123032342-f972dcd16ff6
)

require (
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.5
	google.golang.org/protobuf v1.36.12
)
