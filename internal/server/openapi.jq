# Finishes the OpenAPI document that openapiv3-merge builds from the
# per-file output of protoc-gen-openapiv3 (see `make generate`): the title,
# the bearer token every route needs, and what an error answer is.
.info = {
  title: "Switchyard API",
  version: "v1",
  description: "The REST routes of Switchyard, transcoded onto the same handlers as gRPC, gRPC-Web and Connect. Every route takes an API token as `Authorization: Bearer <token>`. Request and response bodies are the protobuf messages in their JSON form (lowerCamelCase or the proto field names on input)."
}
| .components.securitySchemes = {
    bearer: {
      type: "http",
      scheme: "bearer",
      description: "An API token (`switchyard serve` prints the admin token it creates on first start; AdminService/CreateToken makes others)."
    }
  }
| .security = [{bearer: []}]
| .components.schemas["google.rpc.Status"].description = "An error. `code` is the google.rpc.Code number of the Connect code, which also sets the HTTP status: 3 invalid_argument → 400 (the details name each field that breaks a rule), 16 unauthenticated → 401, 7 permission_denied → 403, 5 not_found → 404, 6 already_exists → 409, 9 failed_precondition → 400, 8 resource_exhausted → 429 (a RetryInfo detail and a Retry-After header say when to retry), 14 unavailable → 503 (retry with backoff), 4 deadline_exceeded → 504, 13 internal → 500 (the message quotes the request id, also in the X-Request-Id header)."
| .paths |= with_entries(.value |= with_entries(
    if (.value | type) == "object" and (.value.responses.default != null) then
      .value.responses.default.description = "An error: a google.rpc.Status whose code sets the HTTP status (400, 401, 403, 404, 409, 429, 500, 503 or 504)."
    else . end))
# A google.protobuf.Struct field (a JSON object such as an event's payload) is
# emitted as a bare object schema: say that it holds any properties, as the
# JSON Schema default does, so that client generators do not read it as empty.
| walk(if type == "object" and .type == "object" and (has("properties") | not)
         and (has("additionalProperties") | not) and (has("$ref") | not)
       then .additionalProperties = true else . end)
