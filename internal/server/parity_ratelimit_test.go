package server_test

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
)

var (
	putRateLimitRPC    = unaryOf[switchyardv1.PutRateLimitRequest, switchyardv1.PutRateLimitResponse](switchyardv1connect.RateLimitServicePutRateLimitProcedure)
	getRateLimitRPC    = unaryOf[switchyardv1.GetRateLimitRequest, switchyardv1.GetRateLimitResponse](switchyardv1connect.RateLimitServiceGetRateLimitProcedure)
	listRateLimitsRPC  = unaryOf[switchyardv1.ListRateLimitsRequest, switchyardv1.ListRateLimitsResponse](switchyardv1connect.RateLimitServiceListRateLimitsProcedure)
	deleteRateLimitRPC = unaryOf[switchyardv1.DeleteRateLimitRequest, switchyardv1.DeleteRateLimitResponse](switchyardv1connect.RateLimitServiceDeleteRateLimitProcedure)
)

// TestRateLimitServiceParity runs every RateLimitService case over every
// protocol on every database engine.
func TestRateLimitServiceParity(t *testing.T) {
	runParity(t, rateLimitCases, parityOptions{})
}

func namedLimit(name string, max int32, period time.Duration) *switchyardv1.PutRateLimitRequest {
	return &switchyardv1.PutRateLimitRequest{RateLimit: &switchyardv1.NamedRateLimit{Name: name, Max: max, Period: durationpb.New(period)}}
}

var rateLimitCases = []parityCase{
	{"put declares a limit", putRateLimitRPC.procedure, func(e *env) string {
		res, err := putRateLimitRPC.do(e, e.c, namedLimit("stripe-api", 100, time.Second))
		if l := res.GetRateLimit(); err == nil && (l.GetName() != "stripe-api" || l.GetMax() != 100 || l.GetPeriod().AsDuration() != time.Second || len(l.GetKeys()) != 0) {
			e.t.Errorf("put: %v, want stripe-api 100 per 1s, no keys used", l)
		}
		return e.expect(0, res, err)
	}},
	{"a worker declares the limits its tasks use", putRateLimitRPC.procedure, func(e *env) string {
		res, err := putRateLimitRPC.do(e, e.as(auth.RoleWorker), namedLimit("per-customer", 10, time.Minute))
		return e.expect(0, res, err)
	}},
	{"put changes a limit live", putRateLimitRPC.procedure, func(e *env) string {
		res, err := putRateLimitRPC.do(e, e.c, namedLimit("per-customer", 20, time.Minute))
		if err == nil && res.GetRateLimit().GetMax() != 20 {
			e.t.Errorf("changed put: %v, want max 20", res.GetRateLimit())
		}
		return e.expect(0, res, err)
	}},
	putRateLimitRPC.invalid("put of a zero max names the field", auth.RoleAdmin, "rate_limit.max", func(*env) *switchyardv1.PutRateLimitRequest {
		return namedLimit("zero", 0, time.Second)
	}),
	putRateLimitRPC.invalid("put without a period names the field", auth.RoleAdmin, "rate_limit.period", func(*env) *switchyardv1.PutRateLimitRequest {
		return &switchyardv1.PutRateLimitRequest{RateLimit: &switchyardv1.NamedRateLimit{Name: "p", Max: 1}}
	}),
	putRateLimitRPC.invalid("put of a bad name names the field", auth.RoleAdmin, "rate_limit.name", func(*env) *switchyardv1.PutRateLimitRequest {
		return namedLimit("bad name!", 1, time.Second)
	}),
	putRateLimitRPC.refused("a viewer cannot declare limits", auth.RoleViewer, connect.CodePermissionDenied, func(*env) *switchyardv1.PutRateLimitRequest {
		return namedLimit("viewer", 1, time.Second)
	}),
	{"get returns a limit", getRateLimitRPC.procedure, func(e *env) string {
		res, err := getRateLimitRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.GetRateLimitRequest{Name: "stripe-api"})
		if err == nil && res.GetRateLimit().GetMax() != 100 {
			e.t.Errorf("get: %v, want max 100", res.GetRateLimit())
		}
		return e.expect(0, res, err)
	}},
	getRateLimitRPC.refused("get of an unknown limit is not found", auth.RoleAdmin, connect.CodeNotFound, func(*env) *switchyardv1.GetRateLimitRequest {
		return &switchyardv1.GetRateLimitRequest{Name: "nothing"}
	}),
	{"list pages the limits by name", listRateLimitsRPC.procedure, func(e *env) string {
		return listPages(e, func(token string) (*switchyardv1.ListRateLimitsResponse, error) {
			return listRateLimitsRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ListRateLimitsRequest{PageSize: 1, PageToken: token})
		}, func(res *switchyardv1.ListRateLimitsResponse) []string {
			var names []string
			for _, l := range res.GetRateLimits() {
				names = append(names, l.GetName())
			}
			return names
		}, "per-customer stripe-api")
	}},
	listRateLimitsRPC.refused("a producer cannot list limits", auth.RoleProducer, connect.CodePermissionDenied, func(*env) *switchyardv1.ListRateLimitsRequest {
		return &switchyardv1.ListRateLimitsRequest{}
	}),
	{"delete removes a limit", deleteRateLimitRPC.procedure, func(e *env) string {
		res, err := deleteRateLimitRPC.do(e, e.c, &switchyardv1.DeleteRateLimitRequest{Name: "per-customer"})
		_, gone := getRateLimitRPC.do(e, e.c, &switchyardv1.GetRateLimitRequest{Name: "per-customer"})
		wantCode(e, gone, connect.CodeNotFound)
		return e.expect(0, res, err)
	}},
	deleteRateLimitRPC.refused("delete of an unknown limit is not found", auth.RoleAdmin, connect.CodeNotFound, func(*env) *switchyardv1.DeleteRateLimitRequest {
		return &switchyardv1.DeleteRateLimitRequest{Name: "per-customer"}
	}),
}
