using System.Globalization;

namespace Qwen.Server.Errors;

/// <summary>
/// A failure with its HTTP status and OpenAI error fields; <see cref="ErrorMapper"/> turns it into the response. Every
/// error the server sends is built by one of the factory methods here, so status, type and code stay consistent.
/// </summary>
public sealed class ApiException(int status, string message, string type, string? param = null, string? code = null) : Exception(message)
{
    /// <summary>HTTP status code.</summary>
    public int Status { get; } = status;

    /// <summary>OpenAI error type, e.g. invalid_request_error.</summary>
    public string Type { get; } = type;

    /// <summary>The request field at fault.</summary>
    public string? Param { get; } = param;

    /// <summary>A machine-readable code, e.g. context_length_exceeded.</summary>
    public string? Code { get; } = code;

    /// <summary>The status as the metric label and log field carry it.</summary>
    public string StatusText => Status.ToString(CultureInfo.InvariantCulture);

    /// <summary>A 400 invalid_request_error naming <paramref name="param"/>.</summary>
    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, "invalid_request_error", param, code);

    /// <summary>401: no API key, or not one of the configured keys.</summary>
    public static ApiException Unauthorized(bool missing)
        => new(401, missing ? "Missing API key: send 'Authorization: Bearer <key>'" : "Incorrect API key provided", "invalid_request_error", null, "invalid_api_key");

    /// <summary>404 for a route the server does not have.</summary>
    public static ApiException UnknownRoute(string method, string path) => new(404, $"Unknown route: {method} {path}", "invalid_request_error", null, "not_found");

    /// <summary>404 for a model id other than the served one.</summary>
    public static ApiException ModelNotFound(string requested, string served)
        => new(404, $"The model '{requested}' does not exist (this server serves '{served}')", "invalid_request_error", "model", "model_not_found");

    /// <summary>413 for a body over the configured limit.</summary>
    public static ApiException TooLarge() => new(413, "the request body is too large", "invalid_request_error", null, "request_too_large");

    /// <summary>
    /// 408: the body arrived slower than Kestrel's minimum data rate (MinRequestBodyDataRate), so reading it was given up.
    /// </summary>
    public static ApiException RequestTimeout() => new(408, "the request body arrived too slowly and reading it timed out; send it again", "invalid_request_error", null, "request_timeout");

    /// <summary>429: the engine's waiting queue is full (sent with Retry-After).</summary>
    public static ApiException QueueFull(string message) => new(429, message, "rate_limit_error", null, "queue_full");

    /// <summary>408: the client read the stream too slowly, so its sequences were ended (the body says by how much).</summary>
    public static ApiException ClientTooSlow(string message) => new(408, message, "timeout_error", null, Observability.RequestRecord.ClientTooSlowCode);

    /// <summary>503: the server is stopping, so the request was refused or its generation ended (sent with Retry-After).</summary>
    public static ApiException ShuttingDown() => new(503, "the server is shutting down", "server_error", null, "shutting_down");

    /// <summary>500 for anything unexpected; the details go to the log, not to the client.</summary>
    public static ApiException Internal() => new(500, "internal server error", "server_error");
}
