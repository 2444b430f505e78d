// Package tcsam reads the function out of a TCSAM template.yaml (Tencent
// Cloud Serverless Application Model, version 2018-11-11).
package tcsam

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Function is a TencentCloud::Serverless::Function resource.
type Function struct {
	Namespace string
	Name      string
	Props     Properties
}

// Properties are a function's Properties.
type Properties struct {
	CodeUri     string `yaml:"CodeUri"`
	Type        string `yaml:"Type"`
	Description string `yaml:"Description"`
	Handler     string `yaml:"Handler"`
	Runtime     string `yaml:"Runtime"`
	MemorySize  int    `yaml:"MemorySize"`
	Timeout     int    `yaml:"Timeout"`
	Environment struct {
		Variables map[string]string `yaml:"Variables"`
	} `yaml:"Environment"`
}

// Load returns the template's one function.
func Load(path string) (*Function, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Resources map[string]map[string]yaml.Node `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var fns []*Function
	for ns, members := range doc.Resources {
		for name, node := range members {
			if name == "Type" {
				continue
			}
			var res struct {
				Type       string     `yaml:"Type"`
				Properties Properties `yaml:"Properties"`
			}
			if err := node.Decode(&res); err != nil {
				return nil, fmt.Errorf("%s: %s.%s: %w", path, ns, name, err)
			}
			if res.Type == "TencentCloud::Serverless::Function" {
				fns = append(fns, &Function{Namespace: ns, Name: name, Props: res.Properties})
			}
		}
	}
	if len(fns) != 1 {
		return nil, fmt.Errorf("%s: want one function, found %d", path, len(fns))
	}
	return fns[0], nil
}
