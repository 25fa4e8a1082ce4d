package webhook_test

import (
	"net/http"
	"testing"

	"github.com/switchyard/switchyard/internal/webhook"
)

func TestDefaultDeliveryID(t *testing.T) {
	t.Parallel()
	const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	tests := []struct {
		name   string
		scheme webhook.Scheme
		header http.Header
		want   string
	}{
		{name: "github", scheme: webhook.SchemeGitHub, header: http.Header{"X-Github-Delivery": {id}}, want: id},
		{name: "github without id", scheme: webhook.SchemeGitHub, header: http.Header{}, want: ""},
		{name: "svix", scheme: webhook.SchemeSvix, header: http.Header{"Svix-Id": {"msg_1"}}, want: "msg_1"},
		{name: "standard webhooks", scheme: webhook.SchemeSvix, header: http.Header{"Webhook-Id": {"msg_2"}}, want: "msg_2"},
		{name: "svix names win", scheme: webhook.SchemeSvix, header: http.Header{"Svix-Id": {"msg_1"}, "Webhook-Id": {"msg_2"}}, want: "msg_1"},
		{name: "svix without id", scheme: webhook.SchemeSvix, header: http.Header{"Svix-Signature": {"v1,AAAA"}, "Webhook-Id": {"msg_2"}}, want: ""},
		{name: "stripe", scheme: webhook.SchemeStripe, header: http.Header{"X-Github-Delivery": {id}, "Svix-Id": {"msg_1"}}, want: ""},
		{name: "slack", scheme: webhook.SchemeSlack, header: http.Header{"X-Github-Delivery": {id}}, want: ""},
		{name: "hmac", scheme: webhook.SchemeHMAC, header: http.Header{"X-Github-Delivery": {id}}, want: ""},
		{name: "bearer", scheme: webhook.SchemeBearer, header: http.Header{"Svix-Id": {"msg_1"}}, want: ""},
		{name: "none", scheme: webhook.SchemeNone, header: http.Header{"Svix-Id": {"msg_1"}}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.DefaultDeliveryID(tc.scheme, tc.header); got != tc.want {
				t.Errorf("DefaultDeliveryID() = %q, want %q", got, tc.want)
			}
		})
	}
}
