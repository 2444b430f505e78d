package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// A method is one registry row as the front end sees it.
type method struct {
	Name   string       // "getWeeklyRetain"
	Span   string       // the date rule: day, week, month, finishedMonth, recent, or "" (no dates)
	Params reflect.Type // the parameters' struct type
	Result reflect.Type // the typed result's struct type
	Doc    string       // the typed method's doc comment
	Final  *final       // when an answer stops changing; nil: never
}

// A final is one row of cache/final.go's table as data: an answer for a
// period ending on end is final at 00:00 China Standard Time of
//
//	end + Days                               (MonthEnds < 0), or
//	the last day of end's month + MonthEnds, + Days  (MonthEnds >= 0).
type final struct {
	MonthEnds int `json:"monthEnds"`
	Days      int `json:"days"`
}

// model is what the generated files say, read from the Go code.
type model struct {
	methods []method
	docs    docs
}

// spans names each date rule of openapi.Dates, by the parameters' type.
var spans = map[reflect.Type]string{
	reflect.TypeFor[*openapi.Dates[openapi.Day]]():           "day",
	reflect.TypeFor[*openapi.Dates[openapi.Week]]():          "week",
	reflect.TypeFor[*openapi.Dates[openapi.Month]]():         "month",
	reflect.TypeFor[*openapi.Dates[openapi.FinishedMonth]](): "finishedMonth",
	reflect.TypeFor[*openapi.Dates[openapi.Recent]]():        "recent",
	reflect.TypeFor[*openapi.PerformanceParams]():            "",
}

func readModel() (*model, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	d, err := readDocs(filepath.Join(root, "openapi"))
	if err != nil {
		return nil, err
	}
	client := reflect.TypeFor[*openapi.Client]()
	m := &model{docs: d}
	for _, row := range openapi.Methods() {
		pt := reflect.TypeOf(row.Params())
		span, ok := spans[pt]
		if !ok {
			return nil, fmt.Errorf("%s: parameters of type %s have no date rule known to tsgen: add it to spans", row.Name, pt)
		}
		// The typed method of getX is Client.X, returning (*Result, error).
		goName := strings.TrimPrefix(row.Name, "get")
		cm, ok := client.MethodByName(goName)
		if !ok || cm.Type.NumOut() != 2 || cm.Type.Out(0).Kind() != reflect.Pointer || cm.Type.Out(0).Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("%s: no typed method openapi.(*Client).%s returning (*Result, error)", row.Name, goName)
		}
		f, err := finality(row.Name)
		if err != nil {
			return nil, err
		}
		m.methods = append(m.methods, method{Name: row.Name, Span: span, Params: pt.Elem(), Result: cm.Type.Out(0).Elem(),
			Doc: d.funcs[goName], Final: f})
	}
	return m, nil
}

// moduleRoot is the folder of go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// docs are openapi's doc comments: of functions and methods, of types, and
// of fields ("Type.Field").
type docs struct {
	funcs, types, fields map[string]string
}

func readDocs(dir string) (docs, error) {
	d := docs{map[string]string{}, map[string]string{}, map[string]string{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return d, err
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return d, err
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				d.funcs[decl.Name.Name] = decl.Doc.Text()
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					doc := ts.Doc
					if doc == nil && len(decl.Specs) == 1 {
						doc = decl.Doc
					}
					d.types[ts.Name.Name] = doc.Text()
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, field := range st.Fields.List {
						text := field.Doc.Text()
						if text == "" {
							text = field.Comment.Text()
						}
						for _, n := range field.Names {
							d.fields[ts.Name.Name+"."+n.Name] = text
						}
					}
				}
			}
		}
	}
	return d, nil
}

// finality reads cache/final.go's rule for name by asking cache.FinalAt
// about every period end from 2000 to 2040, and fits it to a final: the
// generator fails rather than write a rule the table does not follow.
func finality(name string) (*final, error) {
	cst := openapi.CST
	first := time.Date(2000, 1, 1, 0, 0, 0, 0, cst)
	last := time.Date(2040, 12, 31, 0, 0, 0, 0, cst)
	var ends []time.Time
	for t := first; !t.After(last); t = t.AddDate(0, 0, 1) {
		ends = append(ends, t)
	}
	finals := make([]time.Time, len(ends))
	_, ever := cache.FinalAt(name, ends[0].Format(openapi.DateLayout), ends[0].Format(openapi.DateLayout))
	for i, end := range ends {
		e := end.Format(openapi.DateLayout)
		at, ok := cache.FinalAt(name, e, e)
		if ok != ever {
			return nil, fmt.Errorf("%s: cache.FinalAt is final for some periods and never for others", name)
		}
		finals[i] = at.In(cst)
	}
	if !ever {
		return nil, nil
	}
	fits := func(f final) bool {
		for i, end := range ends {
			if !f.at(end).Equal(finals[i]) {
				return false
			}
		}
		return true
	}
	for _, f := range []final{{-1, 0}, {0, 0}, {1, 0}, {2, 0}} {
		f.Days = int(finals[0].Sub(f.base(ends[0])).Hours()) / 24
		if fits(f) {
			return &f, nil
		}
	}
	return nil, fmt.Errorf("%s: cache/final.go's rule is neither a number of days after the period's end "+
		"nor after the end of a month after it: teach tsgen and analysis.js the new shape", name)
}

// base is the day that f counts its Days from, for a period ending on end.
func (f final) base(end time.Time) time.Time {
	if f.MonthEnds < 0 {
		return end
	}
	return time.Date(end.Year(), end.Month()+time.Month(f.MonthEnds)+1, 0, 0, 0, 0, 0, end.Location())
}

// at is when an answer for a period ending on end is final, by f.
func (f final) at(end time.Time) time.Time { return f.base(end).AddDate(0, 0, f.Days) }

// rules is miniprogram/rules.js: the registry and the finality table.
func (m *model) rules() ([]byte, error) {
	type row struct {
		Name  string `json:"name"`
		Dates any    `json:"dates"` // the date rule, or null
		Final *final `json:"final"` // null: never final
	}
	rows := make([]row, len(m.methods))
	for i, me := range m.methods {
		rows[i] = row{Name: me.Name, Final: me.Final}
		if me.Span != "" {
			rows[i].Dates = me.Span
		}
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	out.WriteString(`// Code generated by internal/tsgen from openapi/methods.go and cache/final.go; DO NOT EDIT.

// The analysis methods in registry order, each with its date rule (day: one
// day; week: Monday to Sunday; month: first to last day; finishedMonth: a
// month that is over; recent: the last 1, 7 or 30 days; null: no dates) and
// when an answer for a period ending on day E is final, at 00:00 China
// Standard Time: E + days, or with monthEnds >= 0 the last day of the month
// monthEnds months after E's + days. final null: never final.
'use strict'

module.exports = { methods: `)
	out.Write(b)
	out.WriteString(" }\n")
	return []byte(out.String()), nil
}
