// Command main is the wxanalysis cloud function: WeChat Mini Program
// analytics (cloud.openapi.analysis.*) for Tencent SCF and CloudBase, Go1
// runtime. The platform starts it with _LAMBDA_SERVER_PORT set and invokes it
// over scf-go-lib's RPC protocol.
package main

import (
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/wxanalysis/wxanalysis/handler"
)

func main() {
	// Built once: the token cache outlives warm invocations. StartHandler
	// rather than Start, because the handler writes its own JSON bytes
	// (exact numbers, no HTML escaping) instead of having them re-encoded.
	cloudfunction.StartHandler(handler.FromEnv(os.Getenv))
}
