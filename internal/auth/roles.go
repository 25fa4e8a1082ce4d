package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
)

// The roles a token may have.
const (
	// RoleAdmin may do everything; in the default tenant it also operates the
	// installation (tenants, and tokens of every tenant).
	RoleAdmin = "admin"
	// RoleProducer pushes and replays events, runs workflows, and reads events
	// and runs.
	RoleProducer = "producer"
	// RoleWorker registers, listens, heartbeats, completes and fails tasks, and
	// puts workflows.
	RoleWorker = "worker"
	// RoleViewer reads: get, list and watch.
	RoleViewer = "viewer"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleProducer, RoleWorker, RoleViewer}

// ErrPermissionDenied is returned when a token's role may not make a call.
var ErrPermissionDenied = errors.New("permission denied")

// policy maps every procedure to the roles that may call it: the one table of
// who may do what, enforced by [Interceptor] on every protocol. A procedure it
// does not list is refused to everyone.
var policy = map[string][]string{
	switchyardv1connect.AdminServiceCreateTenantProcedure: {RoleAdmin},
	switchyardv1connect.AdminServiceUpdateTenantProcedure: {RoleAdmin},
	switchyardv1connect.AdminServiceListTenantsProcedure:  {RoleAdmin},
	switchyardv1connect.AdminServiceCreateTokenProcedure:  {RoleAdmin},
	switchyardv1connect.AdminServiceListTokensProcedure:   {RoleAdmin},
	switchyardv1connect.AdminServiceRevokeTokenProcedure:  {RoleAdmin},
	switchyardv1connect.AdminServiceWhoAmIProcedure:       {RoleAdmin, RoleProducer, RoleWorker, RoleViewer},

	switchyardv1connect.EventServicePushEventProcedure:      {RoleAdmin, RoleProducer},
	switchyardv1connect.EventServiceBulkPushEventsProcedure: {RoleAdmin, RoleProducer},
	switchyardv1connect.EventServiceGetEventProcedure:       {RoleAdmin, RoleProducer, RoleViewer},
	switchyardv1connect.EventServiceListEventsProcedure:     {RoleAdmin, RoleProducer, RoleViewer},
	switchyardv1connect.EventServiceReplayEventProcedure:    {RoleAdmin, RoleProducer},

	switchyardv1connect.RunServiceGetRunProcedure:    {RoleAdmin, RoleProducer, RoleViewer},
	switchyardv1connect.RunServiceListRunsProcedure:  {RoleAdmin, RoleProducer, RoleViewer},
	switchyardv1connect.RunServiceCancelRunProcedure: {RoleAdmin},
	switchyardv1connect.RunServiceReplayRunProcedure: {RoleAdmin},
	switchyardv1connect.RunServiceWatchRunProcedure:  {RoleAdmin, RoleProducer, RoleViewer},

	switchyardv1connect.RunServiceBulkCancelRunsProcedure:     {RoleAdmin},
	switchyardv1connect.RunServiceBulkReplayRunsProcedure:     {RoleAdmin},
	switchyardv1connect.RunServiceGetBulkOperationProcedure:   {RoleAdmin, RoleViewer},
	switchyardv1connect.RunServiceWatchBulkOperationProcedure: {RoleAdmin, RoleViewer},

	switchyardv1connect.WebhookServiceCreateWebhookProcedure:         {RoleAdmin},
	switchyardv1connect.WebhookServiceGetWebhookProcedure:            {RoleAdmin, RoleViewer},
	switchyardv1connect.WebhookServiceListWebhooksProcedure:          {RoleAdmin, RoleViewer},
	switchyardv1connect.WebhookServiceUpdateWebhookProcedure:         {RoleAdmin},
	switchyardv1connect.WebhookServiceDeleteWebhookProcedure:         {RoleAdmin},
	switchyardv1connect.WebhookServiceRotateWebhookSecretProcedure:   {RoleAdmin},
	switchyardv1connect.WebhookServiceListWebhookDeliveriesProcedure: {RoleAdmin, RoleViewer},

	switchyardv1connect.WorkerServiceRegisterWorkerProcedure: {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkerServiceListenProcedure:         {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkerServiceHeartbeatProcedure:      {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkerServiceAcknowledgeProcedure:    {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkerServiceCompleteTaskProcedure:   {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkerServiceFailTaskProcedure:       {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkerServiceListWorkersProcedure:    {RoleAdmin, RoleViewer},

	switchyardv1connect.DurableServiceRecordStepProcedure:    {RoleAdmin, RoleWorker},
	switchyardv1connect.DurableServiceWaitProcedure:          {RoleAdmin, RoleWorker},
	switchyardv1connect.DurableServiceSpawnChildrenProcedure: {RoleAdmin, RoleWorker},
	switchyardv1connect.DurableServiceListStepsProcedure:     {RoleAdmin, RoleProducer, RoleViewer, RoleWorker},

	switchyardv1connect.WorkflowServicePutWorkflowProcedure:    {RoleAdmin, RoleWorker},
	switchyardv1connect.WorkflowServiceGetWorkflowProcedure:    {RoleAdmin, RoleProducer, RoleViewer},
	switchyardv1connect.WorkflowServiceListWorkflowsProcedure:  {RoleAdmin, RoleProducer, RoleViewer},
	switchyardv1connect.WorkflowServiceDeleteWorkflowProcedure: {RoleAdmin},

	switchyardv1connect.RateLimitServicePutRateLimitProcedure:    {RoleAdmin, RoleWorker},
	switchyardv1connect.RateLimitServiceGetRateLimitProcedure:    {RoleAdmin, RoleWorker, RoleViewer},
	switchyardv1connect.RateLimitServiceListRateLimitsProcedure:  {RoleAdmin, RoleWorker, RoleViewer},
	switchyardv1connect.RateLimitServiceDeleteRateLimitProcedure: {RoleAdmin},
	switchyardv1connect.WorkflowServiceRunWorkflowProcedure:      {RoleAdmin, RoleProducer},
	switchyardv1connect.WorkflowServicePauseWorkflowProcedure:    {RoleAdmin},
	switchyardv1connect.WorkflowServiceResumeWorkflowProcedure:   {RoleAdmin},
}

// operatorOnly lists the procedures that, of the roles the policy lets in,
// only operators ([Principal.Operator]) may call, with what they do.
var operatorOnly = map[string]string{
	switchyardv1connect.AdminServiceCreateTenantProcedure: "create tenants",
	switchyardv1connect.AdminServiceUpdateTenantProcedure: "update tenants",
}

// metricsRoles may scrape the metrics endpoint, with tokens of the default
// tenant only: metrics cover every tenant (workflow and action names).
var metricsRoles = []string{RoleAdmin, RoleViewer}

// Allowed returns the roles that may call procedure (nil for a procedure the
// policy does not list).
func Allowed(procedure string) []string { return policy[procedure] }

// Procedures returns every procedure the policy lists.
func Procedures() []string {
	out := make([]string, 0, len(policy))
	for p := range policy {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// ProceduresOf returns every procedure a token of role may call, sorted.
func ProceduresOf(role string) []string {
	return slices.DeleteFunc(Procedures(), func(p string) bool { return !slices.Contains(policy[p], role) })
}

// authorize refuses a call the principal's role may not make.
func authorize(p *Principal, procedure string) error {
	roles := policy[procedure]
	if slices.Contains(roles, p.Role) {
		if what, ok := operatorOnly[procedure]; ok && !p.Operator() {
			return fmt.Errorf("%w: only admins of the default tenant %s", ErrPermissionDenied, what)
		}
		return nil
	}
	if roles == nil {
		return fmt.Errorf("%w: %s is not open to any role", ErrPermissionDenied, procedure)
	}
	return fmt.Errorf("%w: a %s token may not call %s (allowed: %s)", ErrPermissionDenied, p.Role, procedure, strings.Join(roles, ", "))
}

// Operator reports whether p operates the installation: an admin of the
// default tenant.
func (p *Principal) Operator() bool {
	return p.Role == RoleAdmin && p.TenantID == engine.DefaultTenant
}

// AuthorizeMetrics refuses a scrape of the metrics endpoint to a principal
// that is not an admin or viewer of the default tenant.
func AuthorizeMetrics(p *Principal) error {
	if p.TenantID == engine.DefaultTenant && slices.Contains(metricsRoles, p.Role) {
		return nil
	}
	return fmt.Errorf("%w: metrics need an admin or viewer token of the default tenant", ErrPermissionDenied)
}
