package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"
)

// The messages of relay.proto: each has one string field, number 1.
type hopRequest struct{ Action string }
type hopReply struct{ ServedBy string }

// codec encodes the two messages as protobuf with protowire. Registered under "proto", the
// content-subtype of every gRPC call, it replaces grpc-go's codec for this process.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v interface{}) ([]byte, error) {
	var s string
	switch m := v.(type) {
	case *hopRequest:
		s = m.Action
	case *hopReply:
		s = m.ServedBy
	default:
		return nil, fmt.Errorf("codec: cannot marshal %T", v)
	}
	if s == "" {
		return []byte{}, nil
	}
	return protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), s), nil
}

func (codec) Unmarshal(data []byte, v interface{}) error {
	var field *string
	switch m := v.(type) {
	case *hopRequest:
		field = &m.Action
	case *hopReply:
		field = &m.ServedBy
	default:
		return fmt.Errorf("codec: cannot unmarshal into %T", v)
	}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if num == 1 && typ == protowire.BytesType {
			s, n := protowire.ConsumeString(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			*field = s
			data = data[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return nil
}

func init() { encoding.RegisterCodec(codec{}) }

type relayServer interface {
	Hop(context.Context, *hopRequest) (*hopReply, error)
}

// relayDesc is what protoc-gen-go-grpc would generate for relay.proto's service.
var relayDesc = grpc.ServiceDesc{
	ServiceName: "interop.Relay",
	HandlerType: (*relayServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Hop",
		Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
			in := new(hopRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return srv.(relayServer).Hop(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/interop.Relay/Hop"}
			return interceptor(ctx, in, info, func(ctx context.Context, req interface{}) (interface{}, error) {
				return srv.(relayServer).Hop(ctx, req.(*hopRequest))
			})
		},
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "relay.proto",
}
