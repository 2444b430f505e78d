package cloudcall

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vectorEnv is §4's test vector.
func vectorEnv() *Env {
	return &Env{EnvID: "test-env-1a2b3c", Region: "ap-shanghai", InSCF: true, RunEnvTag: "scf",
		Token: "wxapitoken-abc", TokenSource: "WX_API_TOKEN",
		SecretID: "AKIDtestsecretid", SecretKey: "testsecretkey", SessionToken: "testsessiontoken", HasSessionToken: true}
}

func TestSignVector(t *testing.T) {
	wr, err := build(vectorEnv(), "analysis.getWeeklyRetain", []byte(`{"begin_date":"20170306","end_date":"20170312"}`),
		time.UnixMilli(1700000000123), 1, "--------------------------0123456789abcdef01234567")
	require.NoError(t, err)
	assert.Equal(t, "http://test-env-1a2b3c.internal.ap-shanghai.tcb-api.tencentcloudapi.com/admin?env=test-env-1a2b3c&seqId=18bcfe5687b_1", wr.url.String())
	got := map[string]string{}
	for _, h := range wr.headers {
		got[h.name] = h.value
	}
	assert.Equal(t, "TC3-HMAC-SHA256 Credential=AKIDtestsecretid/2023-11-14/tcb/tc3_request, SignedParams=action;apiname;envname;requestdata;sessiontoken;wxcloudapitoken, SignedHeaders=content-type;host;user-agent;x-client-timestamp;x-sdk-version;x-tcb-region;x-tcb-source, Signature=289b09499bcf96ef94dce14fc494969ed0bfb4dad1e8332aa521ddf69fd863db", got["Authorization"])
	assert.Equal(t, "1699999999", got["X-Timestamp"])
	pb, err := commAPIData([]byte(`{"begin_date":"20170306","end_date":"20170312"}`))
	require.NoError(t, err)
	assert.Equal(t, "080012320a180a0a626567696e5f64617465120a223230313730333036220a160a08656e645f64617465120a22323031373033313222", hex.EncodeToString(pb))
}
