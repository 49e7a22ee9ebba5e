// The Go peer of the interop suite: a grpc-go service written the way the design card's seed
// asks of a Go shop. Ids are read with metadata.FromIncomingContext and forwarded with
// AppendToOutgoingContext, the trace is continued by otel-go's W3C propagator, and the server's
// ctx is passed to the downstream call, so its deadline and cancellation follow.
//
// Debian packages hold grpc-go and otel-go but no protoc plugin for Go, so the two messages of
// ../../api/relay.proto are encoded by hand with protowire (codec.go).
//
//	relay serve [-next host:port] [-min-time d] [-permit-without-stream]
//	relay call -target host:port [-timeout d] [-cancel-after d] [-action a] [-request-id id] [-user-id id]
//
// It reports to the test as JSON lines on stdout, and exits when its stdin closes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var (
	propagator = propagation.TraceContext{}
	tracer     = sdktrace.NewTracerProvider().Tracer("interop-relay")
	stdout     sync.Mutex
)

func emit(fields map[string]interface{}) {
	line, _ := json.Marshal(fields)
	stdout.Lock()
	defer stdout.Unlock()
	os.Stdout.Write(append(line, '\n'))
}

// mdCarrier lets otel-go's propagator read incoming gRPC metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }
func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// mapCarrier receives what otel-go's propagator writes for an outgoing call.
type mapCarrier map[string]string

func (c mapCarrier) Get(key string) string { return c[key] }
func (c mapCarrier) Set(key, value string) { c[key] = value }
func (c mapCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func budgetMs(ctx context.Context) int64 {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d).Milliseconds()
	}
	return -1
}

type relay struct{ next *grpc.ClientConn }

func (r *relay) Hop(ctx context.Context, in *hopRequest) (*hopReply, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = propagator.Extract(ctx, mdCarrier(md))
	// The remote parent otel-go's propagator read: the span below is its child (zeros if none).
	parent := trace.SpanContextFromContext(ctx)
	ctx, span := tracer.Start(ctx, "Relay.Hop", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	emit(map[string]interface{}{
		"event": "hop", "traceId": span.SpanContext().TraceID().String(),
		"parentSpanId": parent.SpanID().String(), "parentRemote": parent.IsRemote(),
		"traceparent": first(md, "traceparent"), "requestId": first(md, "request-id"),
		"userId": first(md, "user-id"), "budgetMs": budgetMs(ctx),
	})
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			emit(map[string]interface{}{"event": "ctx-done", "err": ctx.Err().Error()})
		case <-finished:
		}
	}()

	if r.next == nil {
		return serveLeaf(ctx, in)
	}
	// The seed's rule: the incoming ids go on every outgoing call, on the request's own ctx.
	var kv []string
	for _, key := range []string{"request-id", "user-id"} {
		if v := first(md, key); v != "" {
			kv = append(kv, key, v)
		}
	}
	tc := mapCarrier{}
	propagator.Inject(ctx, tc)
	for k, v := range tc {
		kv = append(kv, k, v)
	}
	out := metadata.AppendToOutgoingContext(ctx, kv...)
	reply := new(hopReply)
	if err := r.next.Invoke(out, "/interop.Relay/Hop", in, reply); err != nil {
		s := status.Convert(err)
		emit(map[string]interface{}{"event": "downstream-error", "code": int(s.Code()), "codeName": s.Code().String(), "message": s.Message()})
		return nil, s.Err()
	}
	return &hopReply{ServedBy: reply.ServedBy + ",go"}, nil
}

// serveLeaf answers when the Go service is the chain's last hop (the keepalive tests).
func serveLeaf(ctx context.Context, in *hopRequest) (*hopReply, error) {
	if strings.HasPrefix(in.Action, "sleep:") {
		ms, _ := strconv.Atoi(strings.TrimPrefix(in.Action, "sleep:"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return &hopReply{ServedBy: "go"}, nil
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	next := fs.String("next", "", "the next hop, host:port; none: answer as the leaf")
	minTime := fs.Duration("min-time", 0, "keepalive enforcement MinTime; 0: grpc-go's default policy")
	permit := fs.Bool("permit-without-stream", false, "keepalive enforcement PermitWithoutStream")
	fs.Parse(args)

	var opts []grpc.ServerOption
	if *minTime > 0 {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: *minTime, PermitWithoutStream: *permit}))
	}
	r := &relay{}
	if *next != "" {
		conn, err := grpc.Dial(*next, grpc.WithInsecure())
		if err != nil {
			fail(err)
		}
		r.next = conn
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	s := grpc.NewServer(opts...)
	s.RegisterService(&relayDesc, r)
	emit(map[string]interface{}{"event": "listening", "port": lis.Addr().(*net.TCPAddr).Port})
	if err := s.Serve(lis); err != nil {
		fail(err)
	}
}

func call(args []string) {
	fs := flag.NewFlagSet("call", flag.ExitOnError)
	target := fs.String("target", "", "host:port")
	timeout := fs.Duration("timeout", 5*time.Second, "the call's deadline")
	cancelAfter := fs.Duration("cancel-after", 0, "cancel the call's ctx after this long")
	action := fs.String("action", "ok", "the leaf's action")
	requestID := fs.String("request-id", "", "request-id metadata")
	userID := fs.String("user-id", "", "user-id metadata")
	fs.Parse(args)

	conn, err := grpc.Dial(*target, grpc.WithInsecure())
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx, span := tracer.Start(ctx, "interop.call", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	kv := []string{}
	if *requestID != "" {
		kv = append(kv, "request-id", *requestID)
	}
	if *userID != "" {
		kv = append(kv, "user-id", *userID)
	}
	tc := mapCarrier{}
	propagator.Inject(ctx, tc)
	for k, v := range tc {
		kv = append(kv, k, v)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	if *cancelAfter > 0 {
		time.AfterFunc(*cancelAfter, cancel)
	}
	reply := new(hopReply)
	err = conn.Invoke(ctx, "/interop.Relay/Hop", &hopRequest{Action: *action}, reply)
	s := status.Convert(err)
	emit(map[string]interface{}{
		"event": "result", "traceId": span.SpanContext().TraceID().String(), "code": int(s.Code()),
		"codeName": s.Code().String(), "message": s.Message(), "servedBy": reply.ServedBy,
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "relay:", err)
	os.Exit(1)
}

func main() {
	// The test owns this process: when its end of stdin closes, the peer goes too.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: relay serve|call [flags]"))
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "call":
		call(os.Args[2:])
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
