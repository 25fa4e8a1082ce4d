package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// Webhooks take events from other services' webhooks: a sender posts to the
// webhook's path, the server verifies the signature and pushes an event whose
// key a CEL expression gives. Only admin tokens may manage them.

var webhooksCreateCmd = newCommand("webhooks create", "create a webhook and print it with its secret, shown only once (--name, --scheme, --key-expression, or -f FILE)", func(fs *flag.FlagSet) action {
	settings := webhookSettingsFlags(fs)
	secret := fs.String("secret", "", "the secret the sender signs with; the server makes one by default")
	return func(x *call) error {
		s, err := settings()
		if err != nil {
			return err
		}
		res, err := message(x.c.Webhooks().CreateWebhook(x.ctx, connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: s, Secret: *secret})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.CreateWebhookResponse) error {
			return printWebhook(x.stdout, res.GetWebhook(), res.GetSecret())
		})
	}
})

// webhookSettingsFlags adds the flags that give a webhook's settings and
// returns what reads them.
func webhookSettingsFlags(fs *flag.FlagSet) func() (*switchyardv1.WebhookSettings, error) {
	file := fs.String("f", "", "the WebhookSettings in JSON or YAML (- for stdin), instead of the flags below")
	name := fs.String("name", "", "a name for people (required)")
	scheme := fs.String("scheme", "", "how senders sign: "+schemeChoices+" (required)")
	key := fs.String("key-expression", "", `CEL giving each event's key, over body, headers and query, such as '"github." + headers["x-github-event"]' (required)`)
	scope := fs.String("scope-expression", "", "CEL giving each event's scope")
	idem := fs.String("idempotency-expression", "", "CEL giving a delivery id, so that redeliveries dedupe")
	return func() (*switchyardv1.WebhookSettings, error) {
		s := &switchyardv1.WebhookSettings{}
		if *file != "" {
			return s, readSpec(*file, os.Stdin, s)
		}
		if *name == "" || *scheme == "" || *key == "" {
			return nil, errors.New("webhooks create: give --name, --scheme and --key-expression, or -f FILE with the settings")
		}
		v, ok := parseEnum(*scheme, "WEBHOOK_SCHEME_", switchyardv1.WebhookScheme_value)
		if !ok {
			return nil, fmt.Errorf("--scheme %q: want %s", *scheme, schemeChoices)
		}
		s.Name, s.Scheme, s.KeyExpression, s.ScopeExpression, s.IdempotencyExpression = *name, switchyardv1.WebhookScheme(v), *key, *scope, *idem
		return s, nil
	}
}

var webhooksListCmd = newCommand("webhooks list", "list webhooks, never their secrets", func(fs *flag.FlagSet) action {
	limit, pageToken := pageFlags(fs, "webhooks")
	return func(x *call) error {
		res, err := message(x.c.Webhooks().ListWebhooks(x.ctx, connect.NewRequest(&switchyardv1.ListWebhooksRequest{PageSize: int32(*limit), PageToken: *pageToken})))
		return showPage(x.f, x.stdout, x.stderr, "webhooks", res, err, func(res *switchyardv1.ListWebhooksResponse) error {
			t := newTable(x.stdout, "ID", "NAME", "SCHEME", "PATH", "KEY EXPRESSION", "CREATED")
			for _, w := range res.GetWebhooks() {
				t.row(w.GetId(), w.GetSettings().GetName(), webhookScheme(w.GetSettings().GetScheme()), w.GetPath(),
					oneLine(w.GetSettings().GetKeyExpression()), formatTime(w.GetCreatedAt()))
			}
			return t.flush()
		})
	}
})

var webhooksGetCmd = newCommand("webhooks get ID", "show a webhook, without its secret", func(*flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.Webhooks().GetWebhook(x.ctx, connect.NewRequest(&switchyardv1.GetWebhookRequest{Id: x.args[0]})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.GetWebhookResponse) error {
			return printWebhook(x.stdout, res.GetWebhook(), "")
		})
	}
})

var webhooksDeleteCmd = newCommand("webhooks delete ID", "delete a webhook: its path answers 404 from then on", func(*flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.Webhooks().DeleteWebhook(x.ctx, connect.NewRequest(&switchyardv1.DeleteWebhookRequest{Id: x.args[0]})))
		return show(x.f, x.stdout, res, err, func(*switchyardv1.DeleteWebhookResponse) error {
			_, err := fmt.Fprintf(x.stdout, "deleted webhook %s\n", x.args[0])
			return err
		})
	}
})

var webhooksRotateCmd = newCommand("webhooks rotate ID", "give a webhook a new secret and print it, shown only once (--secret)", func(fs *flag.FlagSet) action {
	secret := fs.String("secret", "", "the new secret; the server makes one by default")
	return func(x *call) error {
		res, err := message(x.c.Webhooks().RotateWebhookSecret(x.ctx, connect.NewRequest(&switchyardv1.RotateWebhookSecretRequest{Id: x.args[0], Secret: *secret})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.RotateWebhookSecretResponse) error {
			return printWebhook(x.stdout, res.GetWebhook(), res.GetSecret())
		})
	}
})

// printWebhook prints a webhook and, when given, its secret.
func printWebhook(w io.Writer, wh *switchyardv1.Webhook, secret string) error {
	t := newTable(w)
	t.row("ID", wh.GetId())
	t.row("NAME", wh.GetSettings().GetName())
	t.row("SCHEME", webhookScheme(wh.GetSettings().GetScheme()))
	t.row("PATH", wh.GetPath())
	t.row("KEY EXPRESSION", oneLine(wh.GetSettings().GetKeyExpression()))
	t.row("CREATED", formatTime(wh.GetCreatedAt()))
	if secret != "" {
		t.row("SECRET", secret+" (shown only this once)")
	}
	return t.flush()
}

// webhookScheme is "github" for WEBHOOK_SCHEME_GITHUB.
func webhookScheme(s switchyardv1.WebhookScheme) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WEBHOOK_SCHEME_"))
}
