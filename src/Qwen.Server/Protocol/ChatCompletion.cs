namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>chat.completion</c>: the non-streamed answer (properties in the API reference's order).</summary>
public sealed record ChatCompletion
{
    /// <summary>Unique id, <c>chatcmpl-…</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Always <c>chat.completion</c>.</summary>
    public string Object => "chat.completion";

    /// <summary>Unix time the request was received.</summary>
    public required long Created { get; init; }

    /// <summary>The served model id.</summary>
    public required string Model { get; init; }

    /// <summary>The serving configuration's fingerprint.</summary>
    public required string SystemFingerprint { get; init; }

    /// <summary>One entry per requested choice (<c>n</c>).</summary>
    public required IReadOnlyList<ChatCompletionChoice> Choices { get; init; }

    /// <summary>Token counts: the prompt once, completion tokens summed over choices.</summary>
    public required Usage Usage { get; init; }
}
