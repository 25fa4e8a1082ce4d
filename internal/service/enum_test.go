package service

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// TestEnumsRoundTrip checks that every value an API enum defines, but its
// UNSPECIFIED zero, has an engine name, and that the name leads back to it.
func TestEnumsRoundTrip(t *testing.T) {
	t.Parallel()
	check(t, runStatuses, switchyardv1.RunStatus(0))
	check(t, schemes, switchyardv1.WebhookScheme(0))
	check(t, runTriggers, switchyardv1.RunTrigger(0))
	check(t, strategies, switchyardv1.ConcurrencyStrategy(0))
	check(t, roles, switchyardv1.Role(0))
	check(t, waitModes, switchyardv1.WaitMode(0))
	check(t, waitStates, switchyardv1.WaitState(0))
	check(t, stepKinds, switchyardv1.StepKind(0))
	check(t, waitTimeoutActions, switchyardv1.WaitTimeoutAction(0))
}

func check[P interface {
	~int32
	protoreflect.Enum
}](t *testing.T, e enum[P], zero P) {
	t.Helper()
	values := zero.Descriptor().Values()
	for i := range values.Len() {
		p := P(values.Get(i).Number())
		name := e.name(p)
		switch {
		case p == zero:
			if e.proto(name) != zero {
				t.Errorf("%v: the zero value's name %q leads to %v", p, name, e.proto(name))
			}
		case name == "":
			t.Errorf("%v has no engine name", p)
		case e.proto(name) != p:
			t.Errorf("%v: name %q leads back to %v", p, name, e.proto(name))
		}
	}
	if got := e.proto("no such name"); got != zero {
		t.Errorf("an unknown name leads to %v, want %v", got, zero)
	}
}
