using Qwen.Server.Generation;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Text completions on the wire: <c>text_completion</c> chunks and whole answers, with the echoed prompt first when asked
/// (its own chunk per choice when streaming) and legacy logprobs (<see cref="LegacyLogprobs"/>).
/// </summary>
internal sealed class TextCompletionMapper : IGenerationMapper
{
    private readonly ResponseHeader _header;
    private readonly int _n;
    private readonly bool _logprobs;
    private readonly string _echoed;
    private readonly CompletionLogprobs? _promptLogprobs;
    private readonly LegacyLogprobs[] _legacy;
    private readonly bool _echo;
    private readonly bool _includeUsage;

    public TextCompletionMapper(ResponseHeader header, QwenTokenizer tokenizer, int n, bool logprobs, int[]? echoedPrompt, bool includeUsage)
    {
        _header = header;
        _n = n;
        _logprobs = logprobs;
        _echoed = echoedPrompt is null ? "" : tokenizer.Decode(echoedPrompt);
        _promptLogprobs = echoedPrompt is not null && logprobs ? LegacyLogprobs.Prompt(tokenizer, echoedPrompt) : null;
        _legacy = [.. Enumerable.Range(0, n).Select(_ => new LegacyLogprobs(tokenizer, _echoed.Length))];
        _echo = echoedPrompt is not null;
        _includeUsage = includeUsage;
    }

    public bool SendsDone => true;

    public IEnumerable<object> Opening()
        => _echo ? Enumerable.Range(0, _n).Select(i => Completion([new TextCompletionChoice(_echoed, i, _promptLogprobs, null)], null)) : [];

    public IEnumerable<object> Chunk(ChoiceEvent e)
        => [Completion([new TextCompletionChoice(e.Content ?? "", e.Choice, e.Tokens is { } t ? _legacy[e.Choice].Next(t) : null, e.Finish)], null)];

    public IEnumerable<object> Closing(Usage usage) => _includeUsage ? [Completion([], usage)] : [];

    public object Failure(ErrorResponse error) => error;

    public object Whole(IReadOnlyList<ChoiceResult> choices, Usage usage)
    {
        CompletionLogprobs? Logprobs(int i)
        {
            if (!_logprobs)
            {
                return null;
            }
            var generated = _legacy[i].Next(choices[i].Tokens);
            return _promptLogprobs is null ? generated : LegacyLogprobs.Concat(_promptLogprobs, generated);
        }
        return Completion([.. choices.Select((c, i) => new TextCompletionChoice(_echoed + c.Message.Content, i, Logprobs(i), c.Finish))], usage);
    }

    private TextCompletion Completion(IReadOnlyList<TextCompletionChoice> choices, Usage? usage)
        => new() { Id = _header.Id, Created = _header.Created, Model = _header.Model, SystemFingerprint = GenerationEndpoint.SystemFingerprint, Choices = choices, Usage = usage };
}
