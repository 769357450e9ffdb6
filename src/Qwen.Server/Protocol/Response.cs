using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>
/// OpenAI's <c>response</c> object (POST /v1/responses), properties in the API reference's order. Request settings are
/// echoed as the server applied them; nothing is stored, so <c>store</c> is always false and there is no previous response.
/// </summary>
public sealed record Response
{
    /// <summary>Unique id, <c>resp_…</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Always <c>response</c>.</summary>
    public string Object => "response";

    /// <summary>Unix time the request was received.</summary>
    public required long CreatedAt { get; init; }

    /// <summary>in_progress (while streamed), completed, incomplete (cut by max_output_tokens) or failed.</summary>
    public required string Status { get; init; }

    /// <summary>Always false: responses are generated while the request waits.</summary>
    public bool Background => false;

    /// <summary>Why it failed, for status failed; else null.</summary>
    public ResponseError? Error { get; init; }

    /// <summary>Why it is incomplete, for status incomplete; else null.</summary>
    public ResponseIncompleteDetails? IncompleteDetails { get; init; }

    /// <summary>The instructions as sent (rendered as the first system message).</summary>
    public required string? Instructions { get; init; }

    /// <summary>max_output_tokens as sent.</summary>
    public required int? MaxOutputTokens { get; init; }

    /// <summary>The served model id.</summary>
    public required string Model { get; init; }

    /// <summary>The generated items: a message when there is text, then one function_call per call.</summary>
    public required IReadOnlyList<ResponseOutputItem> Output { get; init; }

    /// <summary>False: generation ended after the first complete function call.</summary>
    public required bool ParallelToolCalls { get; init; }

    /// <summary>Always null: this server is stateless.</summary>
    public string? PreviousResponseId => null;

    /// <summary>Always null: Qwen2.5 does not reason separately.</summary>
    public object? Reasoning => null;

    /// <summary>Always false: nothing is stored.</summary>
    public bool Store => false;

    /// <summary>The sampling temperature used.</summary>
    public required float Temperature { get; init; }

    /// <summary>The output format.</summary>
    public required ResponseTextConfig Text { get; init; }

    /// <summary>tool_choice as sent (default <c>auto</c>).</summary>
    public required JsonElement ToolChoice { get; init; }

    /// <summary>The tools as sent (tools other than functions are accepted and not used).</summary>
    public required IReadOnlyList<JsonElement> Tools { get; init; }

    /// <summary>The nucleus sampling mass used.</summary>
    public required float TopP { get; init; }

    /// <summary>Always <c>disabled</c>: a conversation that does not fit is refused, never truncated.</summary>
    public string Truncation => "disabled";

    /// <summary>Token counts; null until the response is finished.</summary>
    public ResponseUsage? Usage { get; init; }

    /// <summary>The end-user id as sent.</summary>
    public required string? User { get; init; }

    /// <summary>metadata as sent (default <c>{}</c>); not stored.</summary>
    public required JsonElement Metadata { get; init; }
}
