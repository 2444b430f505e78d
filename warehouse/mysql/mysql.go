// Package mysql registers MySQL and MariaDB for the warehouse (TencentDB for
// MySQL, WeChat Cloud Run's built-in MySQL): DATABASE_URLs
// mysql://user:password@host:port/database?tls=true, through
// go-sql-driver/mysql. Import it for its side effect.
package mysql

import (
	"database/sql/driver"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/wxanalysis/wxanalysis/warehouse"
)

func init() {
	warehouse.Register("mysql", warehouse.Driver{Dialect: warehouse.MySQL, Connect: connect})
}

// params are the URL query parameters passed to the driver; others are refused.
var params = []string{"tls", "charset", "collation", "timeout", "readTimeout", "writeTimeout", "allowNativePasswords",
	"allowCleartextPasswords"}

// connect translates the URL into the driver's configuration. The driver
// parses the URL's parameters itself, from a DSN of the address and them
// alone: the credentials are set afterwards, so no string holding them is
// ever built or echoed.
func connect(u *url.URL) (driver.Connector, error) {
	cfg, err := config(u)
	if err != nil {
		return nil, err
	}
	return mysql.NewConnector(cfg)
}

// config is the driver's configuration for u.
func config(u *url.URL) (*mysql.Config, error) {
	q := u.Query()
	for k := range q {
		if !slices.Contains(params, k) {
			return nil, errors.New("DATABASE_URL parameter " + k + " is not one of " + strings.Join(params, ", "))
		}
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	// With the address in the DSN, tls=true checks the certificate against
	// the URL's host, not the driver's default 127.0.0.1.
	cfg, err := mysql.ParseDSN("tcp(" + net.JoinHostPort(u.Hostname(), port) + ")/?" + q.Encode())
	if err != nil {
		return nil, errors.New("DATABASE_URL's parameters are not ones the MySQL driver accepts")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = u.Path[1:]
	cfg.Loc = time.UTC
	cfg.ParseTime = false
	// Changed rows, not matched ones (no ClientFoundRows): SetNX's upsert
	// tells an insert (1) from a row left alone (0) only so.
	if !q.Has("timeout") {
		cfg.Timeout = 10 * time.Second
	}
	return cfg, nil
}
