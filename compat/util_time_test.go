package compat_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
)

func TestTimeNowIsWallClockSeconds(t *testing.T) {
	l := newLoop(t)
	before := float64(time.Now().UnixNano()) / 1e9
	got, err := strconv.ParseFloat(testkit.CallLua(t, l, `return string.format("%.6f", require"util.time".now())`), 64)
	after := float64(time.Now().UnixNano()) / 1e9
	if err != nil {
		t.Fatal(err)
	}
	if got < before-0.001 || got > after+0.001 {
		t.Errorf("now() = %f, not between %f and %f", got, before, after)
	}
}

func TestTimeMonotonicMeasuresElapsedTime(t *testing.T) {
	l := newLoop(t)
	read := func() float64 {
		v, err := strconv.ParseFloat(testkit.CallLua(t, l, `return string.format("%.9f", require"util.time".monotonic())`), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	start := read()
	time.Sleep(50 * time.Millisecond)
	if elapsed := read() - start; elapsed < 0.05 || elapsed > 5 {
		t.Errorf("monotonic() advanced %f s over a 50 ms sleep", elapsed)
	}
}
