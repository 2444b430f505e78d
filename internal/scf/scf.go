// Package scf runs a Go1 function binary the way Tencent SCF does: it starts
// the binary with _LAMBDA_SERVER_PORT on loopback, waits for Function.Ping
// and calls Function.Invoke over net/rpc with an InvokeRequest like SCF's.
package scf

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// A Process is a running function binary.
type Process struct {
	cmd    *exec.Cmd
	addr   string // host:port of its RPC server
	client *rpc.Client
	exited chan error
}

// Start starts bin with env (plus _LAMBDA_SERVER_PORT) and waits up to
// startTimeout for it to answer Function.Ping. The function's output (its
// logs) goes to the invoker's stderr.
func Start(bin string, env []string, startTimeout time.Duration) (*Process, error) {
	return StartTo(os.Stderr, bin, env, startTimeout)
}

// StartTo is Start with the function's output going to w.
func StartTo(w io.Writer, bin string, env []string, startTimeout time.Duration) (*Process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(env, "_LAMBDA_SERVER_PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = w, w
	setParentDeath(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := &Process{cmd: cmd, addr: addr, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-p.exited:
			return nil, fmt.Errorf("%s exited before serving: %v", bin, err)
		default:
		}
		if c, err := rpc.Dial("tcp", addr); err == nil {
			// Bounded: a function that answers the ping wrongly (another
			// sequence number) would leave Call waiting for good.
			ping := c.Go("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}, make(chan *rpc.Call, 1))
			select {
			case <-ping.Done:
				if ping.Error == nil {
					p.client = c
					return p, nil
				}
			case <-time.After(time.Until(deadline)):
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			p.Close()
			return nil, fmt.Errorf("%s did not answer Function.Ping on %s within %s", bin, addr, startTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// Addr returns the host:port the function serves SCF's protocol on.
func (p *Process) Addr() string { return p.addr }

// PID returns the function's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// An Invocation is what SCF tells the function besides the event.
type Invocation struct {
	FunctionName string
	Namespace    string
	Timeout      time.Duration     // the deadline is now + Timeout
	MemoryMB     int32             // MemoryLimitInMb
	Environment  map[string]string // per-invocation environment, e.g. WX_CONTEXT_KEYS, WX_OPENID
}

// FunctionError is InvokeResponse.Error: the function failed or panicked.
type FunctionError struct{ *messages.InvokeResponse_Error }

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error (%s): %s", e.Type, e.Message)
}

// Invoke calls Function.Invoke with payload and returns the result payload.
// A function error is a *FunctionError.
func (p *Process) Invoke(payload []byte, inv Invocation) ([]byte, error) {
	env, err := json.Marshal(inv.Environment)
	if err != nil {
		return nil, err
	}
	if inv.Environment == nil {
		env = nil
	}
	deadline := time.Now().Add(inv.Timeout)
	req := &messages.InvokeRequest{
		Payload:         payload,
		RequestId:       requestID(),
		Deadline:        messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		FunctionName:    inv.FunctionName,
		Namespace:       inv.Namespace,
		FunctionVersion: "$LATEST",
		MemoryLimitInMb: inv.MemoryMB,
		TimeLimitInMs:   int32(inv.Timeout.Milliseconds()),
		Environment:     string(env),
	}
	var resp messages.InvokeResponse
	call := p.client.Go("Function.Invoke", req, &resp, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		if call.Error != nil {
			return nil, fmt.Errorf("Function.Invoke: %w", call.Error)
		}
	case err := <-p.exited:
		p.exited <- err
		return nil, fmt.Errorf("the function exited during the invocation: %v", err)
	case <-time.After(inv.Timeout + time.Second):
		return nil, errors.New("the function did not answer within its timeout")
	}
	if resp.Error != nil {
		return nil, &FunctionError{resp.Error}
	}
	return resp.Payload, nil
}

// Close stops the function and waits for it to exit.
func (p *Process) Close() error {
	if p.client != nil {
		p.client.Close()
	}
	p.cmd.Process.Kill()
	err := <-p.exited
	p.exited <- err
	return nil
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Build builds the function in moduleDir to out as `make build` does:
// static, trimmed and stripped, for goos/goarch.
func Build(moduleDir, out, goos, goarch string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	return nil
}
