package openapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

type platformFixture struct {
	emu  *emulator.Emulator
	url  string
	now  time.Time
	mu   sync.Mutex
	push emulator.TicketPush
}

func (f *platformFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *platformFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newPlatform(t *testing.T, authorizers []emulator.Authorizer) *platformFixture {
	f := &platformFixture{now: time.Now()}
	f.emu = emulator.New(emulator.Config{Now: f.clock, Component: &emulator.Component{Authorizers: authorizers}})
	srv := httptest.NewServer(f.emu)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *platformFixture) component(store openapi.SharedStore) *openapi.Component {
	p := f.emu.Platform()
	return &openapi.Component{BaseURL: f.url, AppID: p.AppID, Secret: p.Secret, Store: store, Now: f.clock}
}

func (f *platformFixture) ticket(t *testing.T, c *openapi.Component) string {
	push, err := f.emu.NewTicketPush("")
	require.NoError(t, err)
	require.NoError(t, c.SaveTicket(context.Background(), push.Ticket, f.clock()))
	return push.Ticket
}

func TestComponentTokenNeedsTicketAndIsShared(t *testing.T) {
	f := newPlatform(t, nil)
	ctx := context.Background()
	store := openapi.NewMemoryStore(f.clock)
	a, b := f.component(store), f.component(store)

	_, err := a.Token(ctx)
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, openapi.CodeTicketInvalid, e.Code)
	assert.Contains(t, e.Msg, "/wechat/component")
	assert.Equal(t, 0, f.emu.ComponentTokenFetches())

	ticket := f.ticket(t, a)
	var wg sync.WaitGroup
	toks := make([]string, 20)
	for i := range toks {
		wg.Go(func() {
			c := a
			if i%2 == 1 {
				c = b
			}
			tok, err := c.Token(ctx)
			if assert.NoError(t, err) {
				toks[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, f.emu.ComponentTokenFetches(), "two instances, twenty callers: one fetch")
	for _, tok := range toks {
		assert.Equal(t, toks[0], tok)
	}

	// An older ticket never replaces a newer one.
	require.NoError(t, a.SaveTicket(ctx, "older-ticket-value", f.clock().Add(-time.Hour)))
	// Once it expires, the token is fetched again, once, with the ticket kept.
	f.advance(emulator.TokenLifetime)
	t1, err := b.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, toks[0], t1.AccessToken)
	assert.Equal(t, 2, f.emu.ComponentTokenFetches())
	_ = ticket
}

func TestAuthorizerListPagedAndBounded(t *testing.T) {
	var many []emulator.Authorizer
	for i := range 1203 {
		many = append(many, emulator.Authorizer{AppID: fmt.Sprintf("wx%016d", i), RefreshToken: fmt.Sprintf("refreshtoken@@@%d", i)})
	}
	f := newPlatform(t, many)
	ctx := context.Background()
	c := f.component(nil)
	f.ticket(t, c)
	list, err := c.Authorizers(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1203)
	assert.Equal(t, many[1202].AppID, list[1202])
	const listPath = "/cgi-bin/component/api_get_authorizer_list"
	assert.Equal(t, 3, f.emu.Requests(listPath), "pages of 500")

	require.NoError(t, c.Check(ctx, many[7].AppID))
	for range 50 {
		err := c.Check(ctx, "wx00000000notthere")
		var e *openapi.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, openapi.CodeNotAuthorized, e.Code)
		assert.Contains(t, e.Msg, "wx00000000notthere")
		assert.Contains(t, e.Msg, "authorize")
	}
	assert.Equal(t, 3, f.emu.Requests(listPath), "an unknown AppID within the interval: no read")
	f.advance(openapi.DefaultListInterval)
	for range 50 {
		assert.Error(t, c.Check(ctx, "wx00000000notthere"))
	}
	assert.Equal(t, 6, f.emu.Requests(listPath), "after the interval: one more read, whatever is asked")
}

func TestAuthorizerTokenRotation(t *testing.T) {
	f := newPlatform(t, nil)
	ctx := context.Background()
	c := f.component(nil)
	f.ticket(t, c)
	app := f.emu.Platform().Authorizers[0].AppID
	require.NoError(t, c.Check(ctx, app))
	first := f.emu.RefreshToken(app)
	tok, err := c.AuthorizerTokens(app).Token(ctx)
	require.NoError(t, err)
	rotated := f.emu.RefreshToken(app)
	assert.NotEqual(t, first, rotated, "the emulator rotated the refresh token")

	// Past the token's life the next fetch must send the rotated refresh
	// token: the first one now answers 61023.
	f.advance(emulator.TokenLifetime)
	tok2, err := c.AuthorizerTokens(app).Token(ctx)
	require.NoError(t, err, "the rotated refresh token was used")
	assert.NotEqual(t, tok.AccessToken, tok2.AccessToken)
	assert.NotEqual(t, rotated, f.emu.RefreshToken(app))
	assert.Same(t, c.AuthorizerTokens(app), c.AuthorizerTokens(app))

	// The analysis API answers with the authorizer's data through a client.
	client, err := openapi.NewClient(c.AuthorizerTokens(app), openapi.WithBaseURL(f.url), openapi.WithClock(f.clock))
	require.NoError(t, err)
	day := openapi.Today(f.clock()).AddDate(0, 0, -1).Format("20060102")
	trend, err := client.DailyVisitTrend(ctx, day, day)
	require.NoError(t, err)
	assert.NotEmpty(t, trend.List)
}

func TestComponentErrorsNameAuthorizerAndFix(t *testing.T) {
	for code, fix := range map[int]string{61003: "authorize", 61004: "whitelist", 61005: "/wechat/component",
		61006: "/wechat/component", 61023: "authorize the platform again", 48001: "permission set 18"} {
		e := openapi.ComponentError(code, "wx00000000merchant1")
		require.NotNil(t, e, "%d", code)
		assert.Equal(t, code, e.Code)
		assert.Contains(t, e.Msg, fix)
		if code != 61004 && code != 61005 && code != 61006 {
			assert.Contains(t, e.Msg, "wx00000000merchant1")
		}
	}
	assert.Nil(t, openapi.ComponentError(40013, "wx1"))

	// Through the endpoint: a stale refresh token, with no secret in the error.
	f := newPlatform(t, []emulator.Authorizer{{AppID: "wx00000000merchant1", RefreshToken: "refreshtoken@@@first"}})
	ctx := context.Background()
	c := f.component(nil)
	ticket := f.ticket(t, c)
	require.NoError(t, c.Check(ctx, "wx00000000merchant1"))
	_, err := c.AuthorizerTokens("wx00000000merchant1").Token(ctx)
	require.NoError(t, err)
	other := f.component(nil) // another store: it only knows the list's, now rotated away... unless it reads the list again
	f.ticket(t, other)
	stale := &openapi.Component{BaseURL: f.url, AppID: c.AppID, Secret: c.Secret, Now: f.clock}
	require.NoError(t, stale.SaveTicket(ctx, ticket, f.clock()))
	require.NoError(t, stale.Check(ctx, "wx00000000merchant1"))
	_, err = other.Authorizers(ctx)
	require.NoError(t, err)
	_, err = stale.AuthorizerTokens("wx00000000merchant1").Token(ctx)
	require.NoError(t, err, "the list it read has the current refresh token")
	_, err = other.AuthorizerTokens("wx00000000merchant1").Token(ctx)
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, openapi.CodeRefreshInvalid, e.Code)
	for _, secret := range []string{c.Secret, ticket, "refreshtoken@@@"} {
		assert.NotContains(t, err.Error(), secret)
	}
	assert.True(t, strings.Contains(e.Msg, "wx00000000merchant1"))
}
