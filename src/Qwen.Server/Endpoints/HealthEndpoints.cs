using Qwen.Server.Hosting;

namespace Qwen.Server.Endpoints;

/// <summary>GET /health (the process answers) and /health/ready (model loaded and engine loop running).</summary>
public static class HealthEndpoints
{
    /// <summary>Maps the routes.</summary>
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/health", () => TypedResults.Ok(new { status = "alive" })).WithTags("Operations");
        app.MapGet("/health/ready", (ModelHost model) =>
        {
            var s = model.Engine.GetStats();
            var body = new { status = s.IsRunning ? "ready" : "not_ready", model = model.Name, running = s.Running, waiting = s.Waiting, kv_slots_used = s.SlotsUsed, kv_slots_total = s.SlotsTotal };
            return s.IsRunning ? Results.Ok(body) : Results.Json(body, statusCode: 503);
        }).WithTags("Operations");
    }
}
