namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>text_completion</c> (legacy completions), also used for its stream chunks.</summary>
public sealed record TextCompletion
{
    /// <summary>Unique id, <c>cmpl-…</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Always <c>text_completion</c>.</summary>
    public string Object => "text_completion";

    /// <summary>Unix time the request was received.</summary>
    public required long Created { get; init; }

    /// <summary>The served model id.</summary>
    public required string Model { get; init; }

    /// <summary>The serving configuration's fingerprint.</summary>
    public required string SystemFingerprint { get; init; }

    /// <summary>One entry per choice (in a stream: the choices this chunk adds to).</summary>
    public required IReadOnlyList<TextCompletionChoice> Choices { get; init; }

    /// <summary>Token counts (in a stream: only in the usage chunk).</summary>
    public Usage? Usage { get; init; }
}
