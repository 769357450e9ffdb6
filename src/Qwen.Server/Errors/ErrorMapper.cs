using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Qwen.Inference.Engine;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Errors;

/// <summary>The one table from failure to HTTP status and OpenAI error body, used by JSON responses and SSE streams alike.</summary>
public static class ErrorMapper
{
    /// <summary>Seconds a client should wait before retrying when the queue is full.</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Maps any exception to an <see cref="ApiException"/>; anything unknown is a 500 server_error.</summary>
    public static ApiException Map(Exception e) => e switch
    {
        ApiException api => api,
        ChatFormatException chat => ApiException.BadRequest(chat.Message, chat.Param),
        PromptTooLongException tooLong => ApiException.BadRequest(tooLong.Message, "messages", "context_length_exceeded"),
        EngineOverloadedException overloaded => new ApiException(429, overloaded.Message, "rate_limit_error", null, "queue_full"),
        BadHttpRequestException { StatusCode: 413 } => new ApiException(413, "the request body is too large", "invalid_request_error", null, "request_too_large"),
        BadHttpRequestException bad => ApiException.BadRequest(bad.Message),
        JsonException json => ApiException.BadRequest($"the body is not valid JSON: {json.Message}", null, "invalid_json"),
        ObjectDisposedException => new ApiException(503, "the server is shutting down", "server_error", null, "shutting_down"),
        _ => new ApiException(500, "internal server error", "server_error"),
    };

    /// <summary>The OpenAI body for a mapped failure.</summary>
    public static ErrorResponse Body(ApiException e) => new(new ErrorBody(e.Message, e.Type, e.Param, e.Code));

    /// <summary>Writes the error as a JSON response (with Retry-After on 429/503).</summary>
    public static async Task WriteAsync(HttpContext context, Exception error)
    {
        ArgumentNullException.ThrowIfNull(context);
        var api = Map(error);
        context.Response.StatusCode = api.Status;
        if (api.Status is 429 or 503)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        Observability.ServerMetrics.Errors.WithLabels(api.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        await context.Response.WriteAsJsonAsync(Body(api), WireJson.Options, context.RequestAborted).ConfigureAwait(false);
    }
}
