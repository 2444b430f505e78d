package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// A Kind is a kind of fault.
type Kind string

// The faults the emulator can inject into analysis answers.
const (
	Latency    Kind = "latency"     // latency=2s: wait before answering
	Errcode    Kind = "errcode"     // errcode=-1: answer this errcode
	Status     Kind = "status"      // status=502: answer this HTTP status
	Reset      Kind = "reset"       // reset the connection without answering
	Malformed  Kind = "malformed"   // answer JSON that does not parse
	Truncated  Kind = "truncated"   // answer the first half of the real answer
	TextPlain  Kind = "text"        // answer the real answer as text/plain
	QuotaAfter Kind = "quota-after" // quota-after=5: 45009 once 5 calls have been answered
	Expired    Kind = "expired"     // answer 42001, as for an expired token
)

// A Fault is one injected fault. Its syntax is [token.]kind[=value][*count]:
// with a count it applies to that many requests, then is spent; without, to
// every request. Faults apply to analysis requests, or with "token." to the
// token endpoints. Several are separated by commas:
// "errcode=-1*3,latency=200ms,token.status=503".
type Fault struct {
	Kind  Kind
	N     int           // errcode, status or quota-after value
	D     time.Duration // latency
	Count int           // requests left; 0: every request
	Token bool          // "token." prefix: for the token endpoints instead
}

// ParseFaults parses a comma-separated list of faults.
func ParseFaults(s string) ([]Fault, error) {
	var out []Fault
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		f, err := parseFault(item)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func parseFault(item string) (Fault, error) {
	var f Fault
	if spec, count, ok := strings.Cut(item, "*"); ok {
		n, err := strconv.Atoi(count)
		if err != nil || n <= 0 {
			return f, fmt.Errorf("fault %q: the count after * must be a positive integer", item)
		}
		item, f.Count = spec, n
	}
	item, f.Token = strings.CutPrefix(item, "token.")
	kind, value, hasValue := strings.Cut(item, "=")
	f.Kind = Kind(kind)
	var err error
	switch f.Kind {
	case Latency:
		f.D, err = time.ParseDuration(value)
	case Errcode, Status, QuotaAfter:
		f.N, err = strconv.Atoi(value)
	case Reset, Malformed, Truncated, TextPlain, Expired:
		if hasValue {
			err = fmt.Errorf("takes no value")
		}
	default:
		return f, fmt.Errorf("fault %q: unknown kind; known: latency, errcode, status, reset, malformed, truncated, text, quota-after, expired", kind)
	}
	if err != nil {
		return f, fmt.Errorf("fault %q: %v", item, err)
	}
	return f, nil
}

// takeFaults returns the configured faults for one request to an analysis
// endpoint, or to a token endpoint, spending counts.
func (e *Emulator) takeFaults(token bool) []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	var now, keep []Fault
	for _, f := range e.faults {
		if f.Token != token {
			keep = append(keep, f)
			continue
		}
		now = append(now, f)
		if f.Count == 1 {
			continue
		}
		if f.Count > 1 {
			f.Count--
		}
		keep = append(keep, f)
	}
	e.faults = keep
	return now
}

// inject applies the faults that answer before the request is served, and
// reports whether the request is answered.
func (e *Emulator) inject(w http.ResponseWriter, r *http.Request, faults []Fault) bool {
	var applied []string
	defer func() {
		if len(applied) > 0 {
			e.cfg.Logger.Info("fault", "path", r.URL.Path, "faults", strings.Join(applied, ","))
		}
	}()
	for _, f := range faults {
		switch f.Kind {
		case Latency:
			applied = append(applied, string(f.Kind))
			select {
			case <-time.After(f.D):
			case <-r.Context().Done():
				return true
			}
		case Errcode:
			applied = append(applied, string(f.Kind))
			writeErr(w, f.N)
			return true
		case Expired:
			applied = append(applied, string(f.Kind))
			writeErr(w, openapi.CodeTokenExpired)
			return true
		case Status:
			applied = append(applied, string(f.Kind))
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.N)
			fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", f.N, http.StatusText(f.N))
			return true
		case Reset:
			applied = append(applied, string(f.Kind))
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				if tcp, ok := conn.(interface{ SetLinger(int) error }); ok {
					tcp.SetLinger(0) // RST, not FIN
				}
				conn.Close()
			}
			return true
		case Malformed:
			applied = append(applied, string(f.Kind))
			w.Header().Set("Content-Type", contentTypeJSON)
			w.Write([]byte(`{"ref_date":"20170306","list":[{"key":1,"value":}]`))
			return true
		}
	}
	return false
}
