namespace Qwen.Server.Errors;

/// <summary>A failure with its HTTP status and OpenAI error fields; <see cref="ErrorMapper"/> turns it into the response.</summary>
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

    /// <summary>A 400 invalid_request_error naming <paramref name="param"/>.</summary>
    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, "invalid_request_error", param, code);
}
