using System.Text.Json.Serialization;

namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>chat.completion.chunk</c>: one server-sent event of a streamed answer.</summary>
public sealed record ChatCompletionChunk(
    string Id,
    long Created,
    string Model,
    string SystemFingerprint,
    IReadOnlyList<ChatCompletionChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage)
{
    /// <summary>Always <c>chat.completion.chunk</c>.</summary>
    public string Object => "chat.completion.chunk";
}

/// <summary>One choice's delta in a chunk.</summary>
public sealed record ChatCompletionChunkChoice(int Index, ChatCompletionDelta Delta, ChoiceLogprobs? Logprobs, string? FinishReason);

/// <summary>What a chunk adds to a choice's message.</summary>
public sealed record ChatCompletionDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatCompletionMessageToolCall>? ToolCalls);
