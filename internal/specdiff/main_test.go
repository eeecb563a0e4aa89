package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modhost/modhost/lua/busted"
)

func report(results ...busted.JSONResult) busted.JSONReport {
	return busted.JSONReport{Results: results}
}

func res(status, name string) busted.JSONResult { return busted.JSONResult{Status: status, Name: name} }

func TestCompareAgreesOnSameNamesAndOutcomes(t *testing.T) {
	d := Compare(
		report(res("success", "a x"), res("pending", "a y"), res("success", "a z #modhost_only")),
		report(res("success", "a x"), res("pending", "a y"), res("success", "b #prosody_only")))
	if !d.OK() || d.Agree != 2 || d.OnlyModhost != 1 || d.OnlyProsody != 1 {
		t.Errorf("diff = %+v, want 2 agreeing, one only on each side, OK", d)
	}
}

func TestCompareListsEachKindOfDisagreement(t *testing.T) {
	d := Compare(
		report(res("success", "same name"), res("success", "same name"), res("success", "only here"), res("success", "p #prosody_only")),
		report(res("success", "same name"), res("failure", "same name"), res("success", "only there"), res("success", "m #modhost_only")))
	var out bytes.Buffer
	d.Print(&out)
	for _, want := range []string{
		"DIFFER  same name\n        modhost: success, Prosody: failure (outcomes differ)",
		"DIFFER  only here\n        modhost: success, Prosody: missing (only under modhost (untagged))",
		"DIFFER  only there\n        modhost: missing, Prosody: success (only under Prosody (untagged))",
		"tagged #prosody_only but ran under modhost",
		"tagged #modhost_only but ran under Prosody",
		"FAILED  failure under Prosody: same name",
		"1 tests agree, 0 only under modhost (#modhost_only), 0 only under Prosody (#prosody_only), 5 disagree, 1 not passed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if d.OK() {
		t.Error("OK despite disagreements")
	}
}

func TestCompareFailsWhenBothSidesFailAlike(t *testing.T) {
	d := Compare(report(res("error", "broken")), report(res("error", "broken")))
	if d.OK() || d.Agree != 1 || len(d.NotPassed) != 2 {
		t.Errorf("diff = %+v, want agreement on the error and both listed as not passed", d)
	}
}
