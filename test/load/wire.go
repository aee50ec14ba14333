package main

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// wire is a request the harness encoded before timing started; it is sent as it is, so that
// the generator spends its time on the wire and not on encoding (or on collecting garbage it
// would otherwise hold: 2.4 million declarations as messages are a heap the collector marks
// again and again).
type wire []byte

// encode is m's wire form.
func encode(m proto.Message) wire {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("encoding a generated %T: %v", m, err)) // generated messages always encode
	}
	return b
}

// answer is a response kept undecoded: the generator of a load run reads answers as bytes,
// for echo and lookups alike, and decodes only those it checks.
type answer struct {
	b []byte
}

// rawCodec is the proto codec, except that a *wire is sent as it is and an *answer receives
// the bytes undecoded. Its name is "proto", so servers decode as usual.
type rawCodec struct{ proto encoding.CodecV2 }

// raw is the call option that makes a call use rawCodec.
var raw = grpc.ForceCodecV2(rawCodec{proto: encoding.GetCodecV2("proto")})

func (c rawCodec) Name() string { return "proto" }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if w, ok := v.(*wire); ok {
		return mem.BufferSlice{mem.SliceBuffer(*w)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if a, ok := v.(*answer); ok {
		a.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}
