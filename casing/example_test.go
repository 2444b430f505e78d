package casing_test

import (
	"fmt"

	"github.com/wxanalysis/wxanalysis/casing"
)

func ExampleConverter_Append() {
	answer := []byte(`{"ref_date":"201702","visit_uv_new":[{"key":0,"value":346249}],"big_id":12345678901234567890}`)
	out, err := casing.ToCamel.Append(nil, answer)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output: {"refDate":"201702","visitUvNew":[{"key":0,"value":346249}],"bigId":12345678901234567890}
}

func ExampleSnakeKey() {
	fmt.Println(casing.SnakeKey("beginDate"), casing.SnakeKey("pageURL"))
	// Output: begin_date page_u_r_l
}

func ExampleCamelKey() {
	fmt.Println(casing.CamelKey("visit_uv_new"), casing.CamelKey("a__b"), casing.CamelKey("x_1y"))
	// Output: visitUvNew a_B x_1y
}
