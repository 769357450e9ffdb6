using Qwen.Server.Errors;
using Qwen.Server.Hosting;

namespace Qwen.Server.Endpoints;

/// <summary>
/// GET /health (the process answers) and /health/ready (model loaded and engine loop running: 200, else 503). With API keys,
/// a caller without one gets no model id from /health/ready (/v1/models guards it), and with ProtectOperations only the
/// status; probes need no key either way.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>Maps the routes.</summary>
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/health", () => TypedResults.Ok(new { status = "alive" })).WithTags("Operations");
        app.MapGet("/health/ready", (ModelHost model, ServerOptions options, HttpContext context) =>
        {
            var s = model.Engine.GetStats();
            var status = s.IsRunning ? "ready" : "not_ready";
            object body = ApiKeyMiddleware.HasKey(context)
                ? new { status, model = model.Name, running = s.Running, waiting = s.Waiting, kv_slots_used = s.SlotsUsed, kv_slots_total = s.SlotsTotal }
                : options.ProtectOperations
                    ? new { status }
                    : new { status, running = s.Running, waiting = s.Waiting, kv_slots_used = s.SlotsUsed, kv_slots_total = s.SlotsTotal };
            return s.IsRunning ? Results.Ok(body) : Results.Json(body, statusCode: 503);
        }).WithTags("Operations");
    }
}
