package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// The examples call the emulator, a stand-in for api.weixin.qq.com, whose
// clock reads 10 April 2025: the week of 3 March 2025 has all its data.
func emulatorNow() time.Time { return time.Date(2025, 4, 10, 10, 0, 0, 0, openapi.CST) }

func startEmulator(cfg emulator.Config) (*emulator.Emulator, *httptest.Server) {
	cfg.Now = emulatorNow
	emu := emulator.New(cfg)
	return emu, httptest.NewServer(emu)
}

// The README's example: a week's retention of a Mini Program.
func Example() {
	_, srv := startEmulator(emulator.Config{})
	defer srv.Close()
	// In production: base is openapi.DefaultBaseURL, appID and secret the
	// Mini Program's AppID and AppSecret.
	base, appID, secret := srv.URL, emulator.DefaultAppID, emulator.DefaultSecret
	ctx := context.Background()

	client, err := openapi.NewClient(
		&openapi.StableToken{BaseURL: base, AppID: appID, Secret: secret},
		openapi.WithBaseURL(base))
	if err != nil {
		log.Fatal(err)
	}
	r, err := client.WeeklyRetain(ctx, "20250303", "20250309") // a Monday to a Sunday
	if errors.Is(err, openapi.ErrQuota) {
		log.Fatal("no quota left today: ", err)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("week", r.RefDate)
	for _, kv := range r.VisitUV { // key 0: the week's active users; k: those back k weeks later
		fmt.Printf("key %s: %s users\n", kv.Key, kv.Value)
	}
	// Output:
	// week 20250303-20250309
	// key 0: 92797 users
	// key 1: 49079 users
	// key 2: 39049 users
	// key 3: 34438 users
	// key 4: 30945 users
}

func ExampleNewClient() {
	_, srv := startEmulator(emulator.Config{})
	defer srv.Close()

	// A client must be told where its tokens come from: no silent
	// anonymous calls.
	_, err := openapi.NewClient(nil)
	fmt.Println(err)

	// StableToken is the usual source: any number of instances can share an
	// AppID. The TokenCache in front of it fetches one token at a time and
	// refreshes it before it expires.
	client, err := openapi.NewClient(
		&openapi.StableToken{BaseURL: srv.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(srv.URL), openapi.WithRetries(2, 100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	s, err := client.DailySummary(context.Background(), "20250309", "20250309")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(s.List), "day:", s.List[0].RefDate)
	// Output:
	// openapi: NewClient needs a TokenSource: StableToken, CredentialToken, URLToken, StaticToken, a TokenCache, or NoToken for a transport that needs none
	// 1 day: 20250309
}

// On WeChat Cloud Run, the open API service adds the access token to calls
// to http://api.weixin.qq.com: the client sends none.
func ExampleNewClient_noToken() {
	_, srv := startEmulator(emulator.Config{OpenAPIService: true})
	defer srv.Close()
	base := srv.URL // on Cloud Run: "http://api.weixin.qq.com"

	client, err := openapi.NewClient(openapi.NoToken, openapi.WithBaseURL(base))
	if err != nil {
		log.Fatal(err)
	}
	t, err := client.DailyVisitTrend(context.Background(), "20250309", "20250309")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.List[0].RefDate, "token fetched:", client.Tokens() != nil)
	// Output:
	// 20250309 token fetched: false
}

func ExampleClient_WeeklyRetain() {
	_, srv := startEmulator(emulator.Config{})
	defer srv.Close()
	client, err := openapi.NewClient(
		&openapi.StableToken{BaseURL: srv.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}

	// The latest complete week, Monday to Sunday in China Standard Time, has
	// only key 0 so far: take the week before it.
	monday, sunday := openapi.LatestWeek(emulatorNow()) // in production: time.Now()
	monday, sunday = monday.AddDate(0, 0, -7), sunday.AddDate(0, 0, -7)
	r, err := client.WeeklyRetain(context.Background(), monday.Format(openapi.DateLayout), sunday.Format(openapi.DateLayout))
	if err != nil {
		log.Fatal(err)
	}
	// Key 0 counts the week's new users, key k those of them back k weeks
	// later; only weeks that are over have a key.
	var keys []json.Number
	for _, kv := range r.VisitUVNew {
		keys = append(keys, kv.Key)
	}
	fmt.Println(r.RefDate, keys)
	// Output:
	// 20250324-20250330 [0 1]
}

// Every error is an *Error: errors.Is tells its kind, errors.As gives
// WeChat's errcode and the HTTP answer.
func ExampleError() {
	emu, srv := startEmulator(emulator.Config{})
	defer srv.Close()
	client, err := openapi.NewClient(
		&openapi.StableToken{BaseURL: srv.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A week must start on a Monday: refused before any request, so no
	// quota is spent.
	_, err = client.WeeklyRetain(ctx, "20250304", "20250310")
	var e *openapi.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, openapi.ErrBadRequest), e.Code, e.Msg)
	}
	fmt.Println("requests:", emu.Requests("/datacube/getweanalysisappidweeklyretaininfo"))

	// WeChat has no analysis data for a mini game: errcode 61502 in an HTTP
	// 200 answer.
	_, game := startEmulator(emulator.Config{Game: true})
	defer game.Close()
	client, err = openapi.NewClient(
		&openapi.StableToken{BaseURL: game.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(game.URL))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.DailySummary(ctx, "20250309", "20250309")
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, openapi.ErrNotReady), e.Code, e.StatusCode, e.API)
	}
	// Output:
	// true 61501 beginDate 20250304 must be a Monday, not a Tuesday
	// requests: 0
	// true 61502 200 analysis.getDailySummary
}

func ExampleClient_PerformanceData() {
	_, srv := startEmulator(emulator.Config{})
	defer srv.Close()
	client, err := openapi.NewClient(
		&openapi.StableToken{BaseURL: srv.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}

	begin := time.Date(2025, 3, 8, 0, 0, 0, 0, openapi.CST)
	p, err := client.PerformanceData(context.Background(), &openapi.PerformanceParams{
		Module: "10022", // memory
		Time:   openapi.PerformanceTime{BeginTimestamp: begin.Unix(), EndTimestamp: begin.AddDate(0, 0, 1).Unix()},
		Params: []openapi.PerformanceParam{{Field: "networktype", Value: "wifi"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range p.Data.Body.Tables {
		fields := t.Lines[0].Fields
		fmt.Printf("%s (%s): %d days from %s\n", t.ID, t.Name, len(fields), fields[0].RefDate)
	}
	// Output:
	// memorydiff (内存增长均值): 2 days from 20250308
	// memory (内存均值): 2 days from 20250308
}
