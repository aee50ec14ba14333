// Package lienthongv1 is the Go code generated from the lienthong.v1 gRPC contract (the .proto
// files beside it); regenerate it with `bash proto/generate.sh`, never edit the *.pb.go files.
package lienthongv1
