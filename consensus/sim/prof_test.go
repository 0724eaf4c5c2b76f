package sim

import "testing"

func TestProf(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	r, _ := Run(CurveConfig(128, Scenario{Name: "clean"}, 1))
	t.Log(r.Rounds, r.Violations)
}
