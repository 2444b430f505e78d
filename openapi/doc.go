// Package openapi is a Go client for WeChat's Mini Program analysis API: the
// ten datacube methods (retention, visit trends, visit distribution, page
// visits, user portraits) and getPerformanceData, the methods wx-server-sdk
// offers as cloud.openapi.analysis.
//
// # Calls
//
// Make a [Client] with [NewClient] from a [TokenSource] and call a typed
// method. Dates are yyyymmdd strings in China Standard Time ([DateLayout],
// [CST]), as WeChat takes them:
//
//	client, err := openapi.NewClient(&openapi.StableToken{
//		BaseURL: openapi.DefaultBaseURL, AppID: appID, Secret: secret})
//	...
//	r, err := client.WeeklyRetain(ctx, "20250303", "20250309")
//
// Typed results such as [Retain], [VisitTrend] and [VisitPage] keep each
// number as WeChat wrote it, as a [json.Number], and each member they do not
// name in their Extra field. [Client.Call] is the raw call: it returns the
// answer as a Node cloud function sees it, camelCase JSON with errMsg
// "openapi.analysis.X:ok" and errCode 0.
//
// # Tokens and transports
//
// [StableToken] is the usual source of access tokens: any number of
// instances can share an AppID. [CredentialToken], [URLToken] (a team's token
// service), [FileToken] and [StaticToken] are the others; a [TokenCache]
// reuses and refreshes their tokens. Calls go to WeChat's HTTPS API, or with
// [NoToken] to WeChat Cloud Run's open API service, which adds the token, or
// with [NoToken] and [WithTransport]([CloudCall]) through CloudBase's
// cloud-call gateway.
//
// # Errors
//
// Parameters are checked against WeChat's rules before any request, so no
// quota is spent on a call WeChat would refuse. Every failure is an [*Error]
// with WeChat's errcode and errmsg and, when there was one, the HTTP status and
// body; errors.Is tells the kind: [ErrTokenRefused], [ErrQuota],
// [ErrDeadline], [ErrBadRequest], [ErrNotReady]. A call refused for its
// token is tried once more with a fresh one, and errcode -1, HTTP 5xx and 429
// and network errors are retried with backoff within the context's
// deadline. No error holds an access token or the AppSecret.
package openapi
