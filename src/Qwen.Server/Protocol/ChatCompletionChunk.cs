using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>chat.completion.chunk</c>: one server-sent event of a streamed answer.</summary>
public sealed record ChatCompletionChunk
{
    /// <summary>The id shared by every chunk of the stream.</summary>
    public required string Id { get; init; }

    /// <summary>Always <c>chat.completion.chunk</c>.</summary>
    public string Object => "chat.completion.chunk";

    /// <summary>Unix time the request was received.</summary>
    public required long Created { get; init; }

    /// <summary>The served model id.</summary>
    public required string Model { get; init; }

    /// <summary>The serving configuration's fingerprint.</summary>
    public required string SystemFingerprint { get; init; }

    /// <summary>The choices this chunk adds to (empty in the final usage chunk).</summary>
    public required IReadOnlyList<ChatCompletionChunkChoice> Choices { get; init; }

    /// <summary>Only in the usage chunk (<c>stream_options.include_usage</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Usage? Usage { get; init; }
}
