using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;

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
        app.MapGet("/health", () => TypedResults.Ok(new HealthStatus("alive"))).WithTags("Operations").Produces<HealthStatus>();
        app.MapGet("/health/ready", (ModelHost model, ServerOptions options, HttpContext context) =>
        {
            var s = model.Engine.GetStats();
            var status = new ReadinessStatus { Status = s.IsRunning ? "ready" : "not_ready" };
            var hasKey = ApiKeyMiddleware.HasKey(context);
            var body = options.ProtectOperations && !hasKey
                ? status
                : status with
                {
                    Model = hasKey ? model.Name : null,
                    Running = s.Running,
                    Waiting = s.Waiting,
                    KvSlotsUsed = s.SlotsUsed,
                    KvSlotsTotal = s.SlotsTotal,
                };
            return s.IsRunning ? Results.Ok(body) : Results.Json(body, statusCode: 503);
        }).WithTags("Operations").Produces<ReadinessStatus>().Produces<ReadinessStatus>(StatusCodes.Status503ServiceUnavailable);
    }
}
