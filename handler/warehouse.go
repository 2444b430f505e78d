package handler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/openapi"
	"github.com/wxanalysis/wxanalysis/warehouse"
)

// DefaultSyncDays is how far back sync begins without SYNC_SINCE: longer
// than the 33 days a daily retention needs to become final, so that every
// period in the window becomes final inside it; short enough that a first
// run fits in the template's timeout against WeChat.
const DefaultSyncDays = 90

// maxAppID is the longest AppID the warehouse keys rows by (its columns'
// width); WeChat's are 18 characters.
const maxAppID = 32

// checkWarehouse checks DATABASE_URL and SYNC_SINCE, never quoting the URL.
func (c *Config) checkWarehouse() []error {
	var errs []error
	if c.DatabaseURL != "" {
		if err := warehouse.CheckURL(c.DatabaseURL); err != nil {
			errs = append(errs, &SettingError{Setting: "DATABASE_URL", text: err.Error()})
		}
		if c.AppID == "" && c.TokenMode != ModeCloud && !c.perAuthorizer() {
			errs = append(errs, settingError("WECHAT_APPID", "is required with DATABASE_URL and WECHAT_TOKEN_MODE="+c.TokenMode+
				", so that every row names the Mini Program whose data it is"))
		}
	}
	errs = append(errs, c.checkSyncAuthorizers()...)
	if c.SyncSince != "" {
		if _, err := time.ParseInLocation(openapi.DateLayout, c.SyncSince, openapi.CST); err != nil || len(c.SyncSince) != 8 {
			errs = append(errs, settingError("SYNC_SINCE", "must be a yyyymmdd date, such as 20240101"))
		}
	}
	return errs
}

// appID returns the AppID whose data an invocation reads: the key of its
// warehouse rows. In cloud mode it is the invocation's WX_APPID when the
// platform lists it, else WECHAT_APPID; in every other mode WECHAT_APPID.
// It is decided here, once, and passed down: the warehouse never guesses.
//
// app is what whose decided from the event: in the per-authorizer modes the
// event's authorizerAppid, which is the answer.
func (h *Handler) appID(app string, cenv *cloudcall.Env, env map[string]string) (string, *openapi.Error) {
	if h.comp != nil {
		if app == "" {
			return "", invalidArgs(AuthorizerKey + " is required: the AppID of the Mini Program whose data to keep")
		}
		return app, nil
	}
	app = ""
	if cenv != nil {
		app, _ = cloudcall.ListedKeys(env).Get(env, "WX_APPID")
	}
	if app == "" {
		app = h.cfg.AppID
	}
	switch {
	case app == "":
		return "", &openapi.Error{Code: openapi.CodeConfig, Msg: "system args error: whose data is this? Set WECHAT_APPID to the Mini Program's AppID (in cloud mode a Mini Program's own invocation names it in WX_APPID, a timer's does not)"}
	case len(app) > maxAppID:
		return "", &openapi.Error{Code: openapi.CodeConfig, Msg: fmt.Sprintf("system args error: the AppID is longer than %d characters", maxAppID)}
	}
	return app, nil
}

// storeRetry is how long a failed open keeps serving from upstream before
// the database is tried again; a sync always tries.
const storeRetry = 30 * time.Second

// storeLookup bounds reading a final period from the database while
// serving: a slow database costs a call this much, then upstream answers.
const storeLookup = time.Second

// storeOpen bounds opening the warehouse: connecting and migrating.
const storeOpen = time.Minute

// storeSlot is the warehouse, opened on first use (connected and migrated)
// and kept for the process's life.
type storeSlot struct {
	mu       sync.Mutex
	st       *warehouse.Store
	opening  chan struct{} // closed when the open in flight ends; nil when none is
	openErr  error         // the last open's failure
	failedAt time.Time
	owner    string     // the instance's name in the claims (syncOwner)
	syncing  sync.Mutex // held by the running sync
}

// store returns the opened warehouse; for serving (sync false) not within
// storeRetry of a failure. One open runs at a time, on its own goroutine
// and its own deadline (storeOpen): a caller waits for it only as long as
// its own context lets it (serving: storeLookup), and leaving does not
// cancel it, so a first migration slower than a serving call's budget still
// completes.
func (h *Handler) store(ctx context.Context, sync bool) (*warehouse.Store, error) {
	s := &h.wh
	s.mu.Lock()
	if s.st != nil {
		defer s.mu.Unlock()
		return s.st, nil
	}
	wait := s.opening
	if wait == nil {
		if !sync && !s.failedAt.IsZero() && time.Since(s.failedAt) < storeRetry {
			s.mu.Unlock()
			return nil, errors.New("warehouse: not retried yet after a failure")
		}
		wait = make(chan struct{})
		s.opening = wait
		go h.openStore(context.WithoutCancel(ctx), wait)
	}
	s.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		return s.st, nil
	}
	return nil, s.openErr
}

// openStore opens the warehouse for store, then closes done.
func (h *Handler) openStore(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, storeOpen)
	defer cancel()
	st, err := warehouse.Open(ctx, h.cfg.DatabaseURL, warehouse.Options{Now: h.now})
	s := &h.wh
	s.mu.Lock()
	s.st, s.openErr, s.opening = st, err, nil
	if err != nil {
		s.failedAt = time.Now()
	}
	s.mu.Unlock()
	close(done)
}

// fetch answers m for body: from the warehouse when it holds the period as
// final (no token, no upstream call, no quota), else from WeChat.
func (h *Handler) fetch(ctx context.Context, client *openapi.Client, app string, m *openapi.Method, body []byte, begin, end string,
	cenv *cloudcall.Env, env map[string]string) ([]byte, error) {
	if out, ok := h.fromStore(ctx, app, m, begin, end, cenv, env); ok {
		return out, nil
	}
	return client.CallBody(ctx, m, body)
}

// fromStore is the warehouse's answer for a final period, converted as
// WeChat's answer is: byte for byte what CallBody returns for it.
func (h *Handler) fromStore(ctx context.Context, app string, m *openapi.Method, begin, end string,
	cenv *cloudcall.Env, env map[string]string) ([]byte, bool) {
	if h.cfg.DatabaseURL == "" || begin == "" || !warehouse.Kept(m.Name) || !cache.IsFinal(m.Name, begin, end, h.now()) {
		return nil, false
	}
	app, e := h.appID(app, cenv, env)
	if e != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, storeLookup)
	defer cancel()
	st, err := h.store(ctx, false)
	if err != nil {
		h.log.DebugContext(ctx, "warehouse: unavailable", "err", err.Error())
		return nil, false
	}
	raw, ok, err := st.Final(ctx, warehouse.Period{AppID: app, Method: m.Name, BeginDate: begin, EndDate: end})
	if err != nil {
		h.log.WarnContext(ctx, "warehouse: read failed", "err", err.Error())
		return nil, false
	}
	if !ok {
		return nil, false
	}
	out, err := openapi.Convert(ctx, m, raw)
	if err != nil {
		return nil, false
	}
	return out, true
}
