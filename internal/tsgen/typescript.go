package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/wxanalysis/wxanalysis/casing"
)

// An override says what a field's Go type cannot: how WeChat really sends
// it. Each is checked against real answers (the client's test compiles the
// binary's answers against the generated types).
type override struct {
	ts       string // the TypeScript type, if not the Go type's
	optional bool   // WeChat may leave the member out
}

var overrides = map[string]override{
	"PerformanceField.Value":    {ts: "string"},          // WeChat sends the figure as a string, such as "70.7778"
	"PerformanceParams.Module":  {ts: "number | string"}, // a number, or a string of digits as in WeChat's example
	"PortraitItem.ID":           {optional: true},        // devices have no id
	"VisitTrendItem.StayTimeUV": {optional: true},        // often absent
}

var (
	numberType = reflect.TypeFor[json.Number]()
	rawType    = reflect.TypeFor[json.RawMessage]()
)

// emitter writes TypeScript interfaces for Go struct types.
type emitter struct {
	docs   docs
	rename func(string) string // Go method names in doc text → the front end's
	out    strings.Builder
	done   map[reflect.Type]bool
	used   map[string]bool // overrides applied
}

// typeOf returns the TypeScript type of a Go type, queuing structs.
func (e *emitter) typeOf(t reflect.Type, queue *[]reflect.Type) (string, error) {
	switch {
	case t == numberType:
		return "number", nil
	case t == rawType:
		return "unknown", nil
	}
	switch t.Kind() {
	case reflect.String:
		return "string", nil
	case reflect.Bool:
		return "boolean", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number", nil
	case reflect.Slice, reflect.Array:
		el, err := e.typeOf(t.Elem(), queue)
		if err != nil {
			return "", err
		}
		if strings.Contains(el, " ") {
			el = "(" + el + ")"
		}
		return el + "[]", nil
	case reflect.Pointer:
		return e.typeOf(t.Elem(), queue)
	case reflect.Interface:
		return "unknown", nil
	case reflect.Struct:
		if t.Name() == "" {
			return "", fmt.Errorf("anonymous struct types are not generated")
		}
		*queue = append(*queue, t)
		return t.Name(), nil
	}
	return "", fmt.Errorf("no TypeScript type for Go type %s", t)
}

// emit writes the interface of struct t and of every struct it reaches;
// camel converts its JSON names as the function converts WeChat's keys.
func (e *emitter) emit(t reflect.Type, camel bool) error {
	queue := []reflect.Type{t}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		if e.done[t] {
			continue
		}
		e.done[t] = true
		// A type's doc begins with its own name, which may also be a
		// typed method's (VisitDistribution): keep it.
		doc := e.docs.types[t.Name()]
		if rest, ok := strings.CutPrefix(doc, t.Name()+" "); ok {
			doc = t.Name() + " " + e.rename(rest)
		}
		e.comment("", doc)
		fmt.Fprintf(&e.out, "export interface %s {\n", t.Name())
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if camel {
				name = casing.CamelKey(name)
			}
			ts, err := e.typeOf(f.Type, &queue)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
			}
			key := t.Name() + "." + f.Name
			o, ok := overrides[key]
			e.used[key] = ok
			if o.ts != "" {
				ts = o.ts
			}
			opt := ""
			if o.optional {
				opt = "?"
			}
			e.comment("  ", e.rename(e.docs.fields[key]))
			fmt.Fprintf(&e.out, "  %s%s: %s\n", name, opt, ts)
		}
		e.out.WriteString("}\n\n")
	}
	return nil
}

// comment writes text as a JSDoc comment, Go names replaced.
func (e *emitter) comment(indent, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	text = strings.ReplaceAll(text, "*/", "* /")
	lines := strings.Split(text, "\n")
	if len(lines) == 1 {
		fmt.Fprintf(&e.out, "%s/** %s */\n", indent, lines[0])
		return
	}
	fmt.Fprintf(&e.out, "%s/**\n", indent)
	for _, l := range lines {
		fmt.Fprintf(&e.out, "%s *%s\n", indent, strings.TrimRight(" "+l, " "))
	}
	fmt.Fprintf(&e.out, "%s */\n", indent)
}

// goName matches a typed method's Go name in doc text.
var goName = regexp.MustCompile(`^[A-Z][A-Za-z]+$`)

func (m *model) typescript() ([]byte, error) {
	var goNames []string
	jsName := map[string]string{}
	for _, me := range m.methods {
		if g := strings.TrimPrefix(me.Name, "get"); goName.MatchString(g) {
			goNames = append(goNames, g)
			jsName[g] = me.Name
		}
	}
	// Longest first, so that DailyVisitTrend is not read as Daily + VisitTrend.
	slices.SortFunc(goNames, func(a, b string) int { return len(b) - len(a) })
	re := regexp.MustCompile(`\b(` + strings.Join(goNames, "|") + `)\b`)
	rename := func(s string) string {
		s = re.ReplaceAllStringFunc(s, func(g string) string { return jsName[g] })
		return strings.ReplaceAll(s, " for p: ", " for params: ") // PerformanceData's Go parameter
	}
	e := &emitter{docs: m.docs, rename: rename, done: map[reflect.Type]bool{}, used: map[string]bool{}}
	e.out.WriteString(header)

	// Parameters.
	e.out.WriteString("// ---- Parameters ----\n\n")
	e.comment("", "DateRange is the parameters of every datacube method: yyyymmdd dates in China Standard Time.\n"+
		"Each method has its rule (see its doc); dates.* make ranges that follow them.")
	e.out.WriteString("export interface DateRange {\n  beginDate: string\n  endDate: string\n}\n\n")
	for _, me := range m.methods {
		if me.Span == "" {
			if err := e.emit(me.Params, false); err != nil {
				return nil, err
			}
		}
	}

	// Results.
	e.out.WriteString("// ---- Results: WeChat's answers, with camelCase keys as the function returns them ----\n\n")
	for _, me := range m.methods {
		if err := e.emit(me.Result, true); err != nil {
			return nil, err
		}
	}
	for key := range overrides {
		if !e.used[key] {
			return nil, fmt.Errorf("override %s names no field of a generated type: remove or fix it", key)
		}
	}

	// The registry as types.
	paramsOf := func(me method) string {
		if me.Span == "" {
			return me.Params.Name()
		}
		return "DateRange"
	}
	e.out.WriteString("// ---- The registry ----\n\n")
	e.out.WriteString("/** Events maps each method to its parameters. */\nexport interface Events {\n")
	for _, me := range m.methods {
		fmt.Fprintf(&e.out, "  %s: %s\n", me.Name, paramsOf(me))
	}
	e.out.WriteString("}\n\n/** Results maps each method to its result. */\nexport interface Results {\n")
	for _, me := range m.methods {
		fmt.Fprintf(&e.out, "  %s: %s\n", me.Name, me.Result.Name())
	}
	e.out.WriteString("}\n\n")
	var names, series []string
	for _, me := range m.methods {
		names = append(names, fmt.Sprintf("%q", me.Name))
		if me.Span != "" && me.Span != "recent" {
			series = append(series, fmt.Sprintf("%q", me.Name))
		}
	}
	fmt.Fprintf(&e.out, "/** MethodName is an analysis method's name, as in an event's action. */\nexport type MethodName = %s\n\n",
		strings.Join(names, " | "))
	fmt.Fprintf(&e.out, "/** SeriesMethod is a method with daily, weekly or monthly periods, which series accepts. */\nexport type SeriesMethod = %s\n\n",
		strings.Join(series, " | "))

	// The client.
	e.out.WriteString("/** Analysis is the client createAnalysis returns: one method per analysis method, batch and series. */\nexport interface Analysis {\n")
	for _, me := range m.methods {
		e.comment("  ", e.rename(me.Doc)+"\nResolves with the result; rejects with an AnalysisError carrying errCode and errMsg.")
		fmt.Fprintf(&e.out, "  %s(params: %s): Promise<Answer<%s>>\n", me.Name, paramsOf(me), me.Result.Name())
	}
	e.out.WriteString(client)
	return []byte(e.out.String()), nil
}

const header = `// Code generated by internal/tsgen from openapi's registry and typed results; DO NOT EDIT.
// The types of analysis.js: createAnalysis, dates and AnalysisError.

`

// client is the hand-written half of the Analysis interface and the rest of
// analysis.js's exports; the generated half above lists the methods.
const client = `  /**
   * batch runs up to 100 events in one invocation. It resolves with every item's result in request order,
   * each with its own errCode (isOk tells a success); it rejects only when the batch itself is refused.
   */
  batch<E extends readonly AnalysisEvent[]>(events: readonly [...E]): Promise<BatchAnswer<ResultsOf<E>>>
  /**
   * series runs one method over each of its periods from beginDate to endDate (days, Monday-to-Sunday weeks or
   * calendar months, at most 100), in one invocation. It resolves with one item per period, in date order.
   */
  series<M extends SeriesMethod>(request: SeriesRequest<M>): Promise<BatchAnswer<Results[M][]>>
}

/** Status is what every answer carries: errCode 0 and errMsg "...:ok" for a success. */
export interface Status {
  errCode: number
  errMsg: string
}

/** Answer is a method's result as the function returns it, with its status. */
export type Answer<T> = T & Status

/** Item is one result of a batch or series: the method's answer, or only a status when it failed. */
export type Item<T> = Answer<T> | Status

/** AnalysisEvent is one event of a batch: action names the method, with its parameters beside it. */
export type AnalysisEvent = { [M in MethodName]: { action: M } & Events[M] }[MethodName]

/** ResultsOf maps a batch's events to their results' types. */
export type ResultsOf<E extends readonly AnalysisEvent[]> = { [K in keyof E]: E[K] extends { action: infer M extends MethodName } ? Results[M] : never }

/** SeriesRequest asks for method's periods from beginDate to endDate (yyyymmdd, China Standard Time). */
export interface SeriesRequest<M extends SeriesMethod = SeriesMethod> {
  method: M
  beginDate: string
  endDate: string
}

/** BatchAnswer is the answer of batch and series: errCode 0, and one item per event or period. */
export interface BatchAnswer<R extends readonly unknown[]> extends Status {
  results: { [K in keyof R]: Item<R[K]> }
}

/** CallFunctionResult is what wx.cloud.callFunction resolves with. */
export interface CallFunctionResult {
  result: unknown
  errMsg?: string
}

/** CallContainerResult is what wx.cloud.callContainer resolves with. */
export interface CallContainerResult {
  data: unknown
  statusCode: number
  errMsg?: string
}

/** WxLike is the part of wx that the client uses; the Mini Program's wx is one. */
export interface WxLike {
  cloud: {
    callFunction(options: { name: string; data: Record<string, unknown>; config?: { env: string } }): Promise<CallFunctionResult>
    callContainer(options: {
      config: { env: string }
      path: string
      method: 'POST'
      header: Record<string, string>
      data: Record<string, unknown>
    }): Promise<CallContainerResult>
  }
}

/** AnalysisOptions chooses how the client reaches the function. */
export interface AnalysisOptions {
  /** The cloud function's name, called with wx.cloud.callFunction; default "analysis". */
  name?: string
  /** The cloud environment of the function; default the one wx.cloud.init chose. */
  env?: string
  /** WeChat Cloud Run instead: the environment, the service (X-WX-SERVICE) and the path (default "/"). */
  container?: { env: string; service: string; path?: string }
  /** The wx to use; default the Mini Program's global wx. */
  wx?: WxLike
}

/** createAnalysis returns a client of the analysis function. */
export function createAnalysis(options?: AnalysisOptions): Analysis

/** isOk tells an item of a batch or series that succeeded. */
export function isOk<T>(item: Item<T>): item is Answer<T>

/**
 * AnalysisError is how the client rejects: errCode and errMsg as the function (or wx.cloud) gave them, as
 * wx-server-sdk's errors carry them; message is errMsg.
 */
export class AnalysisError extends Error {
  constructor(errCode: number, errMsg: string)
  errCode: number
  errMsg: string
}

/**
 * Dates are the date helpers, in China Standard Time whatever the phone's time zone, following the rules the
 * function checks (rules.js is generated from them). Each range is {beginDate, endDate} as yyyymmdd.
 */
export interface Dates {
  /** at returns the helpers as at now (a Date or milliseconds since 1970). */
  at(now: Date | number): Dates
  /** yesterday is the latest day with data: WeChat publishes a day's data the day after. */
  yesterday(): DateRange
  /** lastDays is the n days ending yesterday (n from 1 to 3650): getUserPortrait takes 1, 7 or 30. */
  lastDays(n: number): DateRange
  /** lastWeek is the latest Monday-to-Sunday week that is over. */
  lastWeek(): DateRange
  /** lastMonth is the latest calendar month that is over. */
  lastMonth(): DateRange
  /** latestRetainedWeek is the latest week whose retention is complete (final: all 4 weeks after it are in). */
  latestRetainedWeek(): DateRange
  /** latestRetainedMonth is the latest month whose retention is complete (final: the month after it is in). */
  latestRetainedMonth(): DateRange
  /** finalAt is when method's answer for a period ending on endDate stops changing, or null if never. */
  finalAt(method: MethodName, endDate: string): Date | null
  /** format gives the day of a moment in China Standard Time, as yyyymmdd. */
  format(date: Date | number): string
  /** parse gives 00:00 China Standard Time of a yyyymmdd day; it throws an AnalysisError (61500) if that is no calendar date. */
  parse(yyyymmdd: string): Date
}

export const dates: Dates
`
