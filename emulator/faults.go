package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	BadToken   Kind = "badtoken"    // gateway only: refuse the wxCloudApiToken (JSON INVALID_PARAM)
	Glitch     Kind = "glitch"      // glitch=text: answer 200 with a body that is no answer (see glitches)
)

// glitches are the bodies of glitch=<name>: what a proxy or a broken
// upstream has been seen to answer with 200 instead of the data.
var glitches = map[string]struct{ ctype, body string }{
	"text":    {"text/plain", "upstream busy, try later"},
	"null":    {contentTypeJSON, "null"},
	"array":   {contentTypeJSON, "[]"},
	"number":  {contentTypeJSON, "0"},
	"wrapper": {contentTypeJSON, `{"result":"upstream busy, try later"}`},
	"empty":   {contentTypeJSON, "{}"},
}

// A Fault is one injected fault. Its syntax is [token.|gateway.]kind[=value][@appid][*count]:
// with a count it applies to that many requests, then is spent; without, to
// every request. Faults apply to analysis requests (direct, or the WeChat
// answer inside a cloud call), with "token." to the token endpoints, with
// "gateway." to the cloud-call gateway itself. Several are separated by
// commas: "errcode=-1*3,latency=200ms,token.status=503,gateway.errcode=-604101".
//
// At the gateway, errcode=N answers a CommOpenApiResp with errorCode N (e.g.
// -604101, no permission), status=N that HTTP status, malformed a body that is
// neither JSON nor protobuf, badtoken the JSON refusal of the token; latency
// and reset as elsewhere.
//
// With @appid an analysis fault applies only to requests for that Mini
// Program's data (an authorizer's, by its token), and quota-after counts
// that Mini Program's calls only: "quota-after=5@wx00000000merchant2" is one
// authorizer's daily quota running out.
type Fault struct {
	Kind    Kind
	N       int           // errcode, status or quota-after value
	Glitch  string        // glitch: which body (a key of glitches)
	D       time.Duration // latency
	Count   int           // requests left; 0: every request
	Token   bool          // "token." prefix: for the token endpoints instead
	Gateway bool          // "gateway." prefix: for the cloud-call gateway instead
	AppID   string        // "@appid": only for analysis requests for that Mini Program's data
}

var gatewayKinds = map[Kind]bool{Latency: true, Errcode: true, Status: true, Reset: true, Malformed: true, BadToken: true}

// target is where a fault applies.
type target int

const (
	toAnalysis target = iota
	toToken
	toGateway
)

func (f Fault) target() target {
	switch {
	case f.Token:
		return toToken
	case f.Gateway:
		return toGateway
	}
	return toAnalysis
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
	orig := item
	if spec, count, ok := strings.Cut(item, "*"); ok {
		n, err := strconv.Atoi(count)
		if err != nil || n <= 0 {
			return f, fmt.Errorf("fault %q: the count after * must be a positive integer", item)
		}
		item, f.Count = spec, n
	}
	if spec, app, ok := strings.Cut(item, "@"); ok {
		if app == "" {
			return f, fmt.Errorf("fault %q: an AppID must follow @", orig)
		}
		item, f.AppID = spec, app
	}
	item, f.Token = strings.CutPrefix(item, "token.")
	if !f.Token {
		item, f.Gateway = strings.CutPrefix(item, "gateway.")
	}
	kind, value, hasValue := strings.Cut(item, "=")
	f.Kind = Kind(kind)
	var err error
	switch f.Kind {
	case Latency:
		f.D, err = time.ParseDuration(value)
	case Errcode, Status, QuotaAfter:
		f.N, err = strconv.Atoi(value)
	case Glitch:
		f.Glitch = value
		if _, ok := glitches[value]; !ok {
			err = fmt.Errorf("glitch takes text, null, array, number, wrapper or empty")
		}
	case Reset, Malformed, Truncated, TextPlain, Expired, BadToken:
		if hasValue {
			err = fmt.Errorf("takes no value")
		}
	default:
		return f, fmt.Errorf("fault %q: unknown kind; known: latency, errcode, status, reset, malformed, truncated, text, quota-after, expired, badtoken, glitch", kind)
	}
	switch {
	case err != nil:
	case f.Gateway && !gatewayKinds[f.Kind]:
		err = fmt.Errorf("not a gateway fault; those are latency, errcode, status, reset, malformed, badtoken")
	case !f.Gateway && f.Kind == BadToken:
		err = fmt.Errorf("a gateway fault: write gateway.badtoken")
	case f.AppID != "" && f.target() != toAnalysis:
		err = fmt.Errorf("@appid applies to analysis faults only")
	}
	if err != nil {
		return f, fmt.Errorf("fault %q: %v", orig, err)
	}
	return f, nil
}

// takeFaults returns the configured faults for one request to t, for the
// data of appid, spending counts.
func (e *Emulator) takeFaults(t target, appid string) []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	var now, keep []Fault
	for _, f := range e.faults {
		if f.target() != t || f.AppID != "" && f.AppID != appid {
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
		if f.Kind == TextPlain || f.Kind == Truncated || f.Kind == QuotaAfter {
			continue // these change the answer itself
		}
		applied = append(applied, string(f.Kind))
		switch f.Kind {
		case Latency:
			if !sleep(r.Context(), f.D) {
				return true
			}
		case Errcode:
			e.writeErr(w, f.N)
			return true
		case Expired:
			e.writeErr(w, 42001)
			return true
		case Status:
			statusPage(w, f.N)
			return true
		case Reset:
			reset(w)
			return true
		case Glitch:
			g := glitches[f.Glitch]
			w.Header().Set("Content-Type", g.ctype)
			w.Write([]byte(g.body))
			return true
		case Malformed:
			w.Header().Set("Content-Type", contentTypeJSON)
			w.Write([]byte(`{"ref_date":"20170306","list":[{"key":1,"value":}]`))
			return true
		}
	}
	return false
}

// statusPage answers HTTP status code with a proxy's HTML page.
func statusPage(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", code, http.StatusText(code))
}

// reset closes the connection with a RST, answering nothing.
func reset(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		if tcp, ok := conn.(interface{ SetLinger(int) error }); ok {
			tcp.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	}
}
