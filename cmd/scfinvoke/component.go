package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// runComponent plays a third-party platform against the emulator: the
// function serves HTTP, the emulator pushes it a ticket, and two
// authorizers' weeks are read and shown side by side.
func runComponent(o options, stdout, stderr io.Writer) (int, error) {
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "WECHAT_") && v != "" {
			return 2, fmt.Errorf("-mode component runs against the emulator only: unset %s", k)
		}
	}
	e := emulator.New(emulator.Config{Component: &emulator.Component{}})
	base, closeEmu, err := serve(e)
	if err != nil {
		return 1, err
	}
	defer closeEmu()
	p := e.Platform()
	fmt.Fprintf(stderr, "scfinvoke: third-party platform %s against the emulator at %s\n", p.AppID, base)

	cmd := exec.Command(o.bin)
	cmd.Env = append(os.Environ(), "PORT=0", "WECHAT_TOKEN_MODE=component", "WECHAT_COMPONENT_APPID="+p.AppID,
		"WECHAT_COMPONENT_APPSECRET="+p.Secret, "WECHAT_COMPONENT_TOKEN="+p.Token, "WECHAT_COMPONENT_AES_KEY="+p.AESKey,
		"WECHAT_API_BASE="+base, "HTTP_API_KEYS="+LocalAPIKey, "LOG_LEVEL=warn")
	out := &lines{re: regexp.MustCompile(`serving HTTP on \[::\]:([0-9]+)`), found: make(chan string, 1), w: stderr}
	cmd.Stdout, cmd.Stderr = stderr, out
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var fn string
	select {
	case port := <-out.found:
		fn = "http://127.0.0.1:" + port
	case <-time.After(10 * time.Second):
		return 1, errors.New("the function did not start serving HTTP within 10s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.PushTicket(ctx, http.DefaultClient, fn+"/wechat/component"); err != nil {
		return 1, err
	}
	fmt.Fprintln(stderr, "scfinvoke: the emulator pushed a component_verify_ticket to /wechat/component: accepted")

	monday, sunday := openapi.LatestWeek(time.Now())
	monday, sunday = monday.AddDate(0, 0, -28), sunday.AddDate(0, 0, -28) // 4 weeks of retention in
	type week struct {
		app    string
		newUsr []keyValue
		active []keyValue
	}
	var weeks []week
	code := 0
	for _, a := range p.Authorizers[:2] {
		event := fmt.Sprintf(`{"action":"getWeeklyRetain","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`,
			a.AppID, monday.Format("20060102"), sunday.Format("20060102"))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fn+"/", strings.NewReader(event))
		req.Header.Set("Authorization", "Bearer "+LocalAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 1, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var res struct {
			ErrCode    int
			ErrMsg     string
			VisitUvNew []keyValue
			VisitUv    []keyValue
		}
		if json.Unmarshal(body, &res) != nil || res.ErrCode != 0 {
			fmt.Fprintf(stdout, "%s: %s\n", a.AppID, body)
			code = 1
			continue
		}
		weeks = append(weeks, week{a.AppID, res.VisitUvNew, res.VisitUv})
	}
	if len(weeks) != 2 {
		return max(code, 1), nil
	}
	fmt.Fprintf(stdout, "weekly retention, week %s-%s, two authorizers of platform %s\n",
		monday.Format("20060102"), sunday.Format("20060102"), p.AppID)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t%s new\tretained\t%s new\tretained\t\n", weeks[0].app, weeks[1].app)
	share := func(l []keyValue, i int) string {
		if i >= len(l) || l[0].Value == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(l[i].Value)/float64(l[0].Value))
	}
	val := func(l []keyValue, i int) string {
		if i >= len(l) {
			return ""
		}
		return fmt.Sprint(l[i].Value)
	}
	for i := range max(len(weeks[0].newUsr), len(weeks[1].newUsr)) {
		label := "that week"
		if i == 1 {
			label = "1 week later"
		} else if i > 1 {
			label = fmt.Sprintf("%d weeks later", i)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", label, val(weeks[0].newUsr, i), share(weeks[0].newUsr, i),
			val(weeks[1].newUsr, i), share(weeks[1].newUsr, i))
	}
	tw.Flush()
	return code, nil
}

// lines passes a process's output on and reports the first match of re.
type lines struct {
	re    *regexp.Regexp
	found chan string
	w     io.Writer
	mu    sync.Mutex
	buf   bytes.Buffer
	done  bool
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.buf.Write(p)
		if m := l.re.FindSubmatch(l.buf.Bytes()); m != nil {
			l.done = true
			l.found <- string(m[1])
		}
	}
	return l.w.Write(p)
}
