using Qwen.Server.Generation;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Tokenizer;
using Qwen.Tokenization.ToolCalls;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Chat completions on the wire: <c>chat.completion.chunk</c> events (each choice opens with its role; a tool call's first
/// piece carries its id, type and name, later pieces only arguments) and the whole <c>chat.completion</c>.
/// </summary>
internal sealed class ChatCompletionMapper(ResponseHeader header, QwenTokenizer tokenizer, int n, bool logprobs, bool includeUsage) : IGenerationMapper
{
    public bool SendsDone => true;

    public IEnumerable<object> Opening()
        => Enumerable.Range(0, n).Select(i => Chunk([new ChatCompletionChunkChoice(i, new ChatCompletionDelta("assistant", "", null), null, null)]));

    public IEnumerable<object> Chunk(ChoiceEvent e)
    {
        var delta = new ChatCompletionDelta(null, e.Content, e.ToolCall is { } t ? [ToWire(t)] : null);
        var choiceLogprobs = e.Tokens is { } tokens ? ChatLogprobs.From(tokenizer, tokens) : null;
        return [Chunk([new ChatCompletionChunkChoice(e.Choice, delta, choiceLogprobs, e.Finish)])];
    }

    public IEnumerable<object> Closing(Usage usage) => includeUsage ? [Chunk([], usage)] : [];

    public object Failure(ErrorResponse error) => error;

    public object Whole(IReadOnlyList<ChoiceResult> choices, Usage usage) => new ChatCompletion
    {
        Id = header.Id,
        Created = header.Created,
        Model = header.Model,
        SystemFingerprint = GenerationEndpoint.SystemFingerprint,
        Choices = [.. choices.Select((c, i) => new ChatCompletionChoice(
            i,
            new ChatCompletionMessage(
                "assistant",
                c.Message.Content,
                c.Message.ToolCalls.Count == 0 ? null : [.. c.Message.ToolCalls.Select(t => new ChatCompletionMessageToolCall(null, t.Id, "function", new FunctionCall(t.Name, t.Arguments)))]),
            logprobs ? ChatLogprobs.From(tokenizer, c.Tokens) : null,
            c.Finish))],
        Usage = usage,
    };

    private ChatCompletionChunk Chunk(IReadOnlyList<ChatCompletionChunkChoice> choices, Usage? usage = null)
        => new() { Id = header.Id, Created = header.Created, Model = header.Model, SystemFingerprint = GenerationEndpoint.SystemFingerprint, Choices = choices, Usage = usage };

    private static ChatCompletionMessageToolCall ToWire(ToolCallDelta t)
        => t.Id is not null
            ? new ChatCompletionMessageToolCall(t.Index, t.Id, "function", new FunctionCall(t.Name, t.Arguments ?? ""))
            : new ChatCompletionMessageToolCall(t.Index, null, null, new FunctionCall(null, t.Arguments));
}
