package openapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
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

	// In front of the emulator: answers put in its place, and requests held.
	faults map[string]upstreamFault // path → answer
	gates  map[string]*gate         // path → held until released
	hits   map[string]int           // path → requests, faulted or not
}

// An upstreamFault is what WeChat answers instead of the emulator.
type upstreamFault struct {
	status int
	body   string
}

type gate struct {
	entered chan struct{} // closed by the first request held
	release chan struct{}
	once    sync.Once
}

func (f *platformFixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	fault, faulted := f.faults[r.URL.Path]
	g := f.gates[r.URL.Path]
	f.mu.Unlock()
	if g != nil {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
	}
	if faulted {
		w.WriteHeader(fault.status)
		_, _ = io.WriteString(w, fault.body)
		return
	}
	f.emu.ServeHTTP(w, r)
}

// fail makes path answer fault until heal.
func (f *platformFixture) fail(path string, fault upstreamFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[path] = fault
}

func (f *platformFixture) heal(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.faults, path)
}

func (f *platformFixture) requests(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// hold makes requests to path wait until the returned release is called;
// entered is closed when the first arrives.
func (f *platformFixture) hold(t *testing.T, path string) (entered <-chan struct{}, release func()) {
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	f.mu.Lock()
	f.gates[path] = g
	f.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(g.release) }) }
	t.Cleanup(release)
	return g.entered, release
}

// within waits for ch, failing the test after a bound.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not happen within 30 s", what)
		panic("unreachable")
	}
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
	f := &platformFixture{now: time.Now(), faults: map[string]upstreamFault{}, gates: map[string]*gate{}, hits: map[string]int{}}
	f.emu = emulator.New(emulator.Config{Now: f.clock, Component: &emulator.Component{Authorizers: authorizers}})
	srv := httptest.NewServer(f)
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

// TestAuthorizedAgain: after a merchant authorizes the platform again, the
// stored (rotated) refresh token answers 61023; the list's new one is tried
// once, works, and is kept.
func TestAuthorizedAgain(t *testing.T) {
	f := newPlatform(t, nil)
	ctx := context.Background()
	c := f.component(nil)
	f.ticket(t, c)
	app := f.emu.Platform().Authorizers[0].AppID
	require.NoError(t, c.Check(ctx, app))
	_, err := c.AuthorizerTokens(app).Token(ctx) // rotates: the store now holds a refresh token
	require.NoError(t, err)

	f.emu.Reauthorize(app)
	f.advance(emulator.TokenLifetime) // the token ends, and the list is stale
	tok, err := c.AuthorizerTokens(app).Token(ctx)
	require.NoError(t, err, "the list's refresh token after authorizing again")
	assert.NotEmpty(t, tok.AccessToken)

	f.advance(emulator.TokenLifetime)
	_, err = c.AuthorizerTokens(app).Token(ctx)
	require.NoError(t, err, "the refresh token that came back was kept")
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

const (
	listPath       = "/cgi-bin/component/api_get_authorizer_list"
	authTokenPath  = "/cgi-bin/component/api_authorizer_token"
	compTokenPath  = "/cgi-bin/component/api_component_token"
	unknownAppID   = "wx00000000notthere"
	wechat61004    = `{"errcode":61004,"errmsg":"access clientip is not registered"}`
	wechat61023    = `{"errcode":61023,"errmsg":"refresh_token is invalid"}`
	wechatRefusal  = `{"errcode":40001,"errmsg":"invalid credential"}`
	upstreamOutage = "<html>502 Bad Gateway</html>"
)

// A failed read of the authorizer list is answered with its error for
// FailureInterval: neither an unknown AppID asked in a loop nor a sync
// listing the authorizers sends WeChat one read per call while it fails.
func TestFailedListReadRemembered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    upstreamFault
		code     int
		perRead  int // requests one read sends: a refused token is replaced and tried once more
		fixInMsg string
	}{
		{"IP not whitelisted (61004)", upstreamFault{200, wechat61004}, openapi.CodeIPNotAllowed, 1, "whitelist"},
		{"upstream 5xx", upstreamFault{502, upstreamOutage}, openapi.CodeInternal, 1, "HTTP 502"},
		{"component token refused", upstreamFault{200, wechatRefusal}, openapi.CodeInvalidCred, 2, "invalid credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newPlatform(t, nil)
			ctx := context.Background()
			c := f.component(nil)
			f.ticket(t, c)
			known := f.emu.Platform().Authorizers[0].AppID
			f.fail(listPath, tc.fault)

			err := c.Check(ctx, unknownAppID)
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Msg, tc.fixInMsg)
			require.Equal(t, tc.perRead, f.requests(listPath))
			tokens := f.emu.ComponentTokenFetches()
			want := e.Msg
			e.Msg, e.API = "changed by a caller", "caller" // a caller may change what it was given

			for i := range 50 {
				var err error
				if i%2 == 0 {
					err = c.Check(ctx, unknownAppID)
				} else {
					_, err = c.Authorizers(ctx)
				}
				var again *openapi.Error
				require.ErrorAs(t, err, &again)
				assert.Equal(t, tc.code, again.Code)
				assert.Equal(t, want, again.Msg, "the same error, never the one a caller changed")
				assert.NotSame(t, e, again)
			}
			f.advance(openapi.DefaultFailureInterval - time.Second)
			assert.Error(t, c.Check(ctx, unknownAppID))
			assert.Equal(t, tc.perRead, f.requests(listPath), "within the interval: no read, whatever is asked")
			assert.Equal(t, tokens, f.emu.ComponentTokenFetches(), "nor a component token")

			f.advance(time.Second)
			require.ErrorAs(t, c.Check(ctx, unknownAppID), &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Greater(t, f.requests(listPath), tc.perRead, "after the interval: read again")

			f.heal(listPath)
			assert.Error(t, c.Check(ctx, known), "still remembered")
			f.advance(openapi.DefaultFailureInterval)
			require.NoError(t, c.Check(ctx, known))
			_, err = c.Authorizers(ctx)
			require.NoError(t, err)
		})
	}
}

// A read that failed because its caller gave up says nothing of WeChat:
// it is not remembered.
func TestCancelledListReadNotRemembered(t *testing.T) {
	f := newPlatform(t, nil)
	c := f.component(nil)
	f.ticket(t, c)
	f.fail(listPath, upstreamFault{200, wechat61004})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Check(cancelled, unknownAppID)
	require.Error(t, err)
	before := f.requests(listPath)

	var e *openapi.Error
	require.ErrorAs(t, c.Check(context.Background(), unknownAppID), &e)
	assert.Equal(t, openapi.CodeIPNotAllowed, e.Code)
	assert.Equal(t, before+1, f.requests(listPath))
}

// An authorizer whose refresh token WeChat refuses (61023) costs one
// api_authorizer_token request per FailureInterval, however many calls
// ask for its token; the error names it and holds no secret.
func TestFailedAuthorizerTokenRemembered(t *testing.T) {
	f := newPlatform(t, nil)
	ctx := context.Background()
	c := f.component(nil)
	ticket := f.ticket(t, c)
	apps := f.emu.Platform().Authorizers
	require.NoError(t, c.Check(ctx, apps[0].AppID))
	f.fail(authTokenPath, upstreamFault{200, wechat61023})

	client, err := openapi.NewClient(c.AuthorizerTokens(apps[0].AppID), openapi.WithBaseURL(f.url), openapi.WithClock(f.clock))
	require.NoError(t, err)
	day := openapi.Today(f.clock()).AddDate(0, 0, -1).Format("20060102")
	var first *openapi.Error
	for i := range 50 {
		var err error
		if i%2 == 0 {
			_, err = c.AuthorizerTokens(apps[0].AppID).Token(ctx)
		} else {
			_, err = client.DailyVisitTrend(ctx, day, day)
		}
		var e *openapi.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, openapi.CodeRefreshInvalid, e.Code)
		assert.Contains(t, e.Msg, apps[0].AppID)
		assert.Contains(t, e.Msg, "authorize the platform again")
		for _, secret := range append(f.emu.Secrets(), ticket) {
			assert.NotContains(t, e.Error(), secret)
		}
		if first == nil {
			first = e
			continue
		}
		assert.NotSame(t, first, e)
	}
	assert.Equal(t, 1, f.requests(authTokenPath), "one request for fifty calls")
	assert.Equal(t, 1, f.emu.ComponentTokenFetches())

	f.advance(openapi.DefaultFailureInterval)
	_, err = c.AuthorizerTokens(apps[0].AppID).Token(ctx)
	assert.Error(t, err)
	assert.Equal(t, 2, f.requests(authTokenPath), "after the interval: asked again")

	f.heal(authTokenPath)
	f.advance(openapi.DefaultFailureInterval)
	_, err = client.DailyVisitTrend(ctx, day, day)
	require.NoError(t, err, "once WeChat answers, the token is fetched and used")
	assert.Equal(t, 3, f.requests(authTokenPath))
}

// plainStore hides the memory store's DelIfEqual: a SharedStore of the four
// methods only, released by Get then Del.
type plainStore struct{ openapi.SharedStore }

// A fetch that outlives its lock must not remove the lock that another
// instance took after it expired.
func TestFetchLockReleasedOnlyIfOurs(t *testing.T) {
	for name, wrap := range map[string]func(openapi.SharedStore) openapi.SharedStore{
		"atomic (ValueDeleter)": func(s openapi.SharedStore) openapi.SharedStore { return s },
		"Get then Del":          func(s openapi.SharedStore) openapi.SharedStore { return plainStore{s} },
	} {
		t.Run(name, func(t *testing.T) {
			f := newPlatform(t, nil)
			ctx := context.Background()
			store := openapi.NewMemoryStore(f.clock)
			c := f.component(wrap(store))
			c.Prefix = "t:"
			f.ticket(t, c)
			lock := "t:" + c.AppID + ":token:lock"
			entered, release := f.hold(t, compTokenPath)
			done := make(chan error, 1)
			go func() {
				_, err := c.Token(ctx)
				done <- err
			}()
			within(t, entered, "the component token request")
			mine, ok, err := store.Get(ctx, lock)
			require.NoError(t, err)
			require.True(t, ok, "the fetch holds the lock")
			assert.NotEqual(t, "1", string(mine), "a value of its own")

			f.advance(openapi.TokenFetchTimeout + time.Second) // the lock expires; another instance takes it
			won, err := store.SetNX(ctx, lock, []byte("instance B"), time.Hour)
			require.NoError(t, err)
			require.True(t, won)
			release()
			require.NoError(t, within(t, done, "the first fetch"))
			v, ok, err := store.Get(ctx, lock)
			require.NoError(t, err)
			require.True(t, ok, "instance B's lock was removed")
			assert.Equal(t, "instance B", string(v))

			// A lock still its own is released.
			require.NoError(t, store.Del(ctx, lock))
			f.advance(emulator.TokenLifetime)
			_, err = c.Token(ctx)
			require.NoError(t, err)
			_, ok, err = store.Get(ctx, lock)
			require.NoError(t, err)
			assert.False(t, ok, "released after the fetch")
		})
	}
}

// tickingStore moves the clock on by a second at each attempt to take a
// lock, as if each took that long: the waits end by the clock.
type tickingStore struct {
	openapi.SharedStore
	f     *platformFixture
	mu    sync.Mutex
	tries int
}

func (s *tickingStore) SetNX(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	s.tries++
	s.mu.Unlock()
	s.f.advance(time.Second)
	return s.SharedStore.SetNX(ctx, key, v, ttl)
}

// An instance waiting for another's fetch stops by the injectable clock:
// it takes over the lock of one that died once it expires, and gives up on
// one that outlives the wait.
func TestSharedWaitEndsByTheClock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lockTTL time.Duration
		code    int // 0: the token
	}{
		{"a dead instance's lock expires: taken over", openapi.TokenFetchTimeout, 0},
		{"a lock that outlives the wait: a timeout", time.Hour, openapi.CodeTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newPlatform(t, nil)
			ctx := context.Background()
			mem := openapi.NewMemoryStore(f.clock)
			store := &tickingStore{SharedStore: mem, f: f}
			c := f.component(store)
			c.Prefix = "t:"
			f.ticket(t, c)
			won, err := mem.SetNX(ctx, "t:"+c.AppID+":token:lock", []byte("dead instance"), tc.lockTTL)
			require.NoError(t, err)
			require.True(t, won)

			tok, err := c.Token(ctx)
			if tc.code == 0 {
				require.NoError(t, err)
				assert.NotEmpty(t, tok.AccessToken)
				assert.Equal(t, 1, f.emu.ComponentTokenFetches())
			} else {
				var e *openapi.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tc.code, e.Code)
				assert.Equal(t, 0, f.emu.ComponentTokenFetches())
			}
			store.mu.Lock()
			defer store.mu.Unlock()
			// 11 s of the clock at a second a try; by real time, about 400 tries of 25 ms.
			assert.LessOrEqual(t, store.tries, 15, "the wait ended by the clock")
		})
	}
}

// A ticket received ends what its absence made this instance remember: the
// first push after the authorization-event URL is set works at once.
func TestNewTicketEndsRememberedFailure(t *testing.T) {
	f := newPlatform(t, nil)
	ctx := context.Background()
	c := f.component(nil)
	app := f.emu.Platform().Authorizers[0].AppID
	for range 3 {
		var e *openapi.Error
		require.ErrorAs(t, c.Check(ctx, app), &e)
		assert.Equal(t, openapi.CodeTicketInvalid, e.Code)
		_, err := c.AuthorizerTokens(app).Token(ctx)
		require.ErrorAs(t, err, &e)
		assert.Equal(t, openapi.CodeNotAuthorized, e.Code, "not in a list never read")
	}
	f.ticket(t, c)
	require.NoError(t, c.Check(ctx, app))
	_, err := c.AuthorizerTokens(app).Token(ctx)
	require.NoError(t, err)
}
