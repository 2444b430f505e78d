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

// connect translates the URL into the driver's configuration: no DSN
// string is ever built, so none can be echoed.
func connect(u *url.URL) (driver.Connector, error) {
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Net = "tcp"
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = u.Path[1:]
	cfg.Loc = time.UTC
	cfg.ParseTime = false
	cfg.Timeout = 10 * time.Second
	q := u.Query()
	for k := range q {
		ok := false
		for _, p := range params {
			ok = ok || p == k
		}
		if !ok {
			return nil, errors.New("DATABASE_URL parameter " + k + " is not one of tls, charset, collation, timeout, readTimeout, writeTimeout, allowNativePasswords, allowCleartextPasswords")
		}
	}
	if len(q) > 0 {
		// The driver parses its own parameters: one DSN holding only them.
		extra, err := mysql.ParseDSN("/?" + q.Encode())
		if err != nil {
			return nil, errors.New("DATABASE_URL's parameters are not ones the MySQL driver accepts")
		}
		cfg.TLSConfig, cfg.TLS = extra.TLSConfig, extra.TLS
		if extra.Collation != "" {
			cfg.Collation = extra.Collation
		}
		cfg.Params = extra.Params
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = extra.Timeout, extra.ReadTimeout, extra.WriteTimeout
		cfg.AllowNativePasswords, cfg.AllowCleartextPasswords = extra.AllowNativePasswords, extra.AllowCleartextPasswords
	}
	return mysql.NewConnector(cfg)
}
