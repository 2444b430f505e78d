// Command silenceper is the same cloud function written with the most used
// Go WeChat SDK, github.com/silenceper/wechat/v2: its GetAnalysisWeeklyRetain,
// its token management (GET /cgi-bin/token, in-memory cache), its HTTP
// client, used as its README shows. Only the host is rewritten, to the
// emulator's, with the SDK's own URI hook.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	miniConfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"
	"github.com/tencentyun/scf-go-lib/cloudfunction"
)

func main() {
	base := os.Getenv("WECHAT_API_BASE")
	util.SetURIModifier(func(uri string) string { return strings.Replace(uri, "https://api.weixin.qq.com", base, 1) })
	mp := wechat.NewWechat().GetMiniProgram(&miniConfig.Config{
		AppID: os.Getenv("WECHAT_APPID"), AppSecret: os.Getenv("WECHAT_APPSECRET"), Cache: cache.NewMemory()})
	analysis := mp.GetAnalysis()
	cloudfunction.Start(func(_ context.Context, ev struct{ BeginDate, EndDate string }) (json.RawMessage, error) {
		res, err := analysis.GetAnalysisWeeklyRetain(ev.BeginDate, ev.EndDate)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	})
}
