using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Qwen.Inference.Engine;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Qwen.Server.Protocol;

namespace Qwen.Server.Errors;

/// <summary>
/// The one table from failure to HTTP status and OpenAI error body, used by JSON responses and SSE streams alike.
/// Cancellation is decided by who cancelled: the server stopping (the host's ApplicationStopping, or the engine no longer
/// running) is a 503 shutting_down; a client that went away gets no error response at all (there is nobody to send it to),
/// and callers check <see cref="HttpContext.RequestAborted"/> before mapping.
/// </summary>
public static class ErrorMapper
{
    /// <summary>Seconds a client should wait before retrying when the queue is full or the server is stopping.</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Maps any exception to an <see cref="ApiException"/>; anything unknown is a 500 server_error.</summary>
    /// <param name="e">The failure.</param>
    /// <param name="shuttingDown">Whether the server is stopping (see <see cref="IsShuttingDown"/>): cancellation then means shutdown.</param>
    public static ApiException Map(Exception e, bool shuttingDown) => e switch
    {
        ApiException api => api,
        PromptTooLongException tooLong => ApiException.BadRequest(tooLong.Message, "messages", "context_length_exceeded"),
        EngineOverloadedException overloaded => ApiException.QueueFull(overloaded.Message),
        ClientTooSlowException slow => ApiException.ClientTooSlow(slow.Message),
        BadHttpRequestException { StatusCode: 413 } => ApiException.TooLarge(),
        // Kestrel's own message names its setting ("See MinRequestBodyDataRate"): a client is told what happened instead.
        BadHttpRequestException { StatusCode: 408 } => ApiException.RequestTimeout(),
        BadHttpRequestException bad => ApiException.BadRequest(bad.Message),
        JsonException json => ApiException.BadRequest($"the body is not valid JSON: {json.Message}", null, "invalid_json"),
        // The engine refuses new work once disposed (ObjectDisposedException) and fails running sequences with an
        // OperationCanceledException when it stops; ApplicationStopping cancels every request's token.
        ObjectDisposedException => ApiException.ShuttingDown(),
        OperationCanceledException or ChannelClosedException when shuttingDown => ApiException.ShuttingDown(),
        _ => ApiException.Internal(),
    };

    /// <summary>Maps <paramref name="e"/> for a request of <paramref name="context"/>, reading whether the server is stopping.</summary>
    public static ApiException Map(Exception e, HttpContext context) => Map(e, IsShuttingDown(context));

    /// <summary>Whether the server is stopping: the host signalled ApplicationStopping, or the engine is no longer running.</summary>
    public static bool IsShuttingDown(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var services = context.RequestServices;
        if (services?.GetService<IHostApplicationLifetime>() is { ApplicationStopping.IsCancellationRequested: true })
        {
            return true;
        }
        return services?.GetService<ModelHost>() is { } model && !model.Engine.GetStats().IsRunning;
    }

    /// <summary>The OpenAI body for an error about to be sent; counts it in qwen_request_errors_total{status}.</summary>
    public static ErrorResponse Respond(ApiException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        ServerMetrics.Errors.WithLabels(e.StatusText).Inc();
        return new ErrorResponse(new ErrorBody(e.Message, e.Type, e.Param, e.Code));
    }

    /// <summary>Writes the error as a JSON response (with Retry-After on 429/503, WWW-Authenticate on 401).</summary>
    public static async Task WriteAsync(HttpContext context, ApiException api)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(api);
        context.Response.StatusCode = api.Status;
        if (api.Status is 429 or 503)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (api.Status == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer"; // RFC 9110: a 401 names the scheme it wants
        }
        await context.Response.WriteAsJsonAsync(Respond(api), WireJson.Options, context.RequestAborted).ConfigureAwait(false);
    }
}
